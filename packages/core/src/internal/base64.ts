// btoa and atob exist in every runtime core supports (Node 16+, browsers, workers); Buffer does not.

/** @internal Standard base64 (with padding) of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunked: String.fromCharCode with a spread of a large array overflows the call stack.
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64UrlPattern = /^[A-Za-z0-9_-]*$/;

/**
 * @internal The bytes of standard base64 (padded) or base64url (unpadded) text, or `undefined`
 * when `text` is neither: callers report their own error, without echoing what may be a secret.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  let standard = text;
  if (!base64Pattern.test(text)) {
    if (!base64UrlPattern.test(text) || text.length % 4 === 1) return undefined;
    standard = text.replaceAll('-', '+').replaceAll('_', '/');
    standard += '='.repeat((4 - (standard.length % 4)) % 4);
  }
  const binary = atob(standard);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}
