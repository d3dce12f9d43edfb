'use client';

import type { ToolCard } from '@steward/react';

const statusWords: Record<ToolCard['status'], string> = {
  requested: 'Running',
  awaiting_approval: 'Needs your approval',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  succeeded: 'Done',
  failed: 'Failed',
};

/** A tool call: what it does with which arguments, Approve/Deny while it waits, then its result. */
export function ToolCardView(props: {
  card: ToolCard;
  onApprove: (callId: string) => void;
  onDeny: (callId: string, reason?: string) => void;
}) {
  const { card } = props;
  return (
    <section className={`tool-card tool-${card.status}`} aria-label={`${card.title ?? card.toolSlug} call`}>
      <header>
        <strong>{card.title ?? card.toolSlug}</strong> <output>{statusWords[card.status]}</output>
      </header>
      <pre className="args">{JSON.stringify(card.args, null, 2)}</pre>
      {card.status === 'awaiting_approval' && (
        <div className="decision">
          {card.approval?.reason !== undefined && <p>{card.approval.reason}</p>}
          <button type="button" onClick={() => props.onApprove(card.callId)}>
            Approve
          </button>
          <button type="button" onClick={() => props.onDeny(card.callId, 'The user said no')}>
            Deny
          </button>
        </div>
      )}
      {card.status === 'succeeded' && (
        <details>
          <summary>Result</summary>
          <pre>{JSON.stringify(card.result, null, 2)}</pre>
        </details>
      )}
      {card.error !== undefined && <p className="tool-error">{card.error.message}</p>}
    </section>
  );
}
