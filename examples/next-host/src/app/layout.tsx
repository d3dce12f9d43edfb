import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'Steward · Next host',
  description: 'Pattern B: the browser talks to the Steward orchestrator directly with a short-lived token.',
};

// biome-ignore lint/style/noDefaultExport: Next renders a route's layout from its default export.
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
