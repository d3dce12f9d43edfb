import { redirect } from 'next/navigation';

// biome-ignore lint/style/noDefaultExport: Next renders a route's page from its default export.
export default function Home() {
  redirect('/chat');
}
