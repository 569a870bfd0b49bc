/**
 * Virtualized conversation: only the rows on screen are in the DOM, so a conversation of
 * thousands of messages scrolls as smoothly as a short one. Sticks to the bottom while the user
 * is reading the newest messages.
 */
import { useLayoutEffect, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ChatMessage } from '../../shared/api';
import { formatTime, statusDescription, statusLabel } from '../format';

interface Props { messages: ChatMessage[]; myId: string; peerName: string }

const STICK_TO_BOTTOM_PX = 48;

export function MessageList({ messages, myId, peerName }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 56,
    overscan: 8,
    getItemKey: (index) => messages[index]?.id ?? index,
  });

  useLayoutEffect(() => {
    if (atBottom.current && messages.length > 0) virtualizer.scrollToIndex(messages.length - 1, { align: 'end' });
  }, [messages.length, virtualizer]);

  if (messages.length === 0) {
    return <p className="empty" data-testid="message-list-empty">No messages yet. Say hello to {peerName}.</p>;
  }

  return (
    <div
      ref={scrollRef}
      className="message-scroll"
      data-testid="message-list"
      role="log"
      aria-label={`Conversation with ${peerName}`}
      aria-live="polite"
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX;
      }}
    >
      <div className="message-canvas" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((row) => {
          const m = messages[row.index];
          if (!m) return null;
          const mine = m.from === myId;
          return (
            <div
              key={row.key}
              ref={virtualizer.measureElement}
              data-index={row.index}
              className={`message-row ${mine ? 'mine' : 'theirs'}`}
              style={{ transform: `translateY(${row.start}px)` }}
            >
              <div className="message" data-testid={`message-${m.id}`} data-mine={mine ? 'true' : 'false'}>
                <p className="message-text">{m.text}</p>
                <p className="message-meta">
                  <time dateTime={new Date(m.ts).toISOString()}>{formatTime(m.ts)}</time>
                  {mine && (
                    <span
                      className={`message-status status-${m.status}`}
                      data-testid={`message-status-${m.id}`}
                      data-status={m.status}
                      title={statusDescription(m.status)}
                    >
                      {' '}{statusLabel(m.status)}
                    </span>
                  )}
                </p>
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
