'use client';

import type { ToolInputRequest, UseAssistantResult } from '@steward/react';
import { useState } from 'react';

/** A tool's request for input (MCP elicitation): a form of its fields, or a link to open. */
export function InputRequestForm(props: {
  request: ToolInputRequest;
  onAnswer: UseAssistantResult['respondToInput'];
}) {
  const { request } = props;
  const fields = Object.entries(request.requestedSchema?.properties ?? {});
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      fields.map(([name, field]) => [name, field.default === undefined ? '' : String(field.default)]),
    ),
  );
  const decline = () => void props.onAnswer(request.requestId, { action: 'decline' });
  if (request.mode === 'url') {
    return (
      <section className="input-request" aria-label={`${request.server} asks`}>
        <p>
          {request.server}: {request.message}
        </p>
        <a
          href={request.url}
          target="_blank"
          rel="noreferrer"
          onClick={() => void props.onAnswer(request.requestId, { action: 'accept' })}
        >
          {request.url}
        </a>
        <button type="button" onClick={decline}>
          No thanks
        </button>
      </section>
    );
  }
  return (
    <form
      className="input-request"
      aria-label={`${request.server} asks`}
      onSubmit={(event) => {
        event.preventDefault();
        void props.onAnswer(request.requestId, { action: 'accept', content: values });
      }}
    >
      <p>{request.message}</p>
      {fields.map(([name, field]) => (
        <label key={name}>
          {field.title ?? name}
          <input
            value={values[name] ?? ''}
            onChange={(event) => setValues({ ...values, [name]: event.target.value })}
          />
        </label>
      ))}
      {request.error !== undefined && <p role="alert">{request.error.message}</p>}
      <button type="submit">Send</button>
      <button type="button" onClick={decline}>
        Decline
      </button>
    </form>
  );
}
