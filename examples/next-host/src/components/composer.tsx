'use client';

import { useState } from 'react';

/** The message box: Send while idle, Stop while the assistant is busy (Esc stops too). */
export function Composer(props: { busy: boolean; onSend: (text: string) => void; onStop: () => void }) {
  const [text, setText] = useState('');
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        if (props.busy || text.trim() === '') return;
        props.onSend(text);
        setText('');
      }}
    >
      <label htmlFor="message">Message</label>
      <textarea
        id="message"
        value={text}
        rows={2}
        placeholder="Ask about your inbox, or ask to send an email"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && props.busy) props.onStop();
          if (event.key === 'Enter' && !event.shiftKey) {
            event.preventDefault();
            event.currentTarget.form?.requestSubmit();
          }
        }}
      />
      {props.busy ? (
        <button type="button" onClick={props.onStop}>
          Stop
        </button>
      ) : (
        <button type="submit">Send</button>
      )}
    </form>
  );
}
