import { useEffect } from 'react';
import { useUi } from '../state/context';
import { retractsByCondition, type Notice } from '../state/notices';

const INFO_VISIBLE_MS = 6000;

export function Notices() {
  const notices = useUi((s) => s.notices);
  if (notices.length === 0) return null;
  return (
    <div className="notices" aria-live="assertive">
      {notices.map((n) => <NoticeItem key={n.id} notice={n} />)}
    </div>
  );
}

/**
 * Info notices go away by themselves, except those about a waiting request, which go when it is
 * answered; errors stay until dismissed or until their condition ends, since they say what to do.
 */
function NoticeItem({ notice }: { notice: Notice }) {
  const dismiss = useUi((s) => s.dismissNotice);
  useEffect(() => {
    if (notice.kind !== 'info' || retractsByCondition(notice)) return undefined;
    const timer = setTimeout(() => dismiss(notice.id), INFO_VISIBLE_MS);
    return () => clearTimeout(timer);
  }, [notice, dismiss]);
  return (
    <div className={`notice notice-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid={`notice-${notice.kind}`} data-topic={notice.topic}>
      <span>{notice.text}</span>
      <button type="button" aria-label="Dismiss" onClick={() => dismiss(notice.id)}>×</button>
    </div>
  );
}
