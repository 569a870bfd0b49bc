/** Which renderer frames may call the host (no electron import, so it is testable). */

/**
 * True only for the top frame of our own page: same file URL, ignoring query and fragment.
 * Anything else (another file, a remote page after a navigation slipped through, a subframe)
 * must not reach the host.
 */
export function isTrustedSender(senderUrl: string | undefined, isMainFrame: boolean, appPageUrl: string): boolean {
  if (!senderUrl || !isMainFrame) return false;
  let sender: URL;
  let page: URL;
  try {
    sender = new URL(senderUrl);
    page = new URL(appPageUrl);
  } catch {
    return false;
  }
  return sender.protocol === 'file:' && page.protocol === 'file:' && sender.host === page.host && sender.pathname === page.pathname;
}
