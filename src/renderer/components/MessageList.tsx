/**
 * Virtualized conversation: only the rows on screen are in the DOM, so a conversation of
 * thousands of messages scrolls as smoothly as a short one. Sticks to the bottom while the user
 * is reading the newest messages.
 *
 * Only the user leaves the bottom: a scroll event that finds the list short of the bottom
 * because rows were added or measured taller after our own scroll is not the user scrolling up
 * (that mistake dropped the list off the bottom during a burst). And it stays pinned while rows
 * are measured, not only when their count changes.
 */
import { useEffect, useLayoutEffect, useRef, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ChatMessage } from '../../shared/api';
import { formatTime, statusDescription, statusLabel } from '../format';

interface Props { messages: ChatMessage[]; myId: string; peerName: string }

const STICK_TO_BOTTOM_PX = 48;
const USER_SCROLL_MS = 600;
const SCROLL_KEYS = new Set(['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End', ' ']);

export function MessageList({ messages, myId, peerName }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  /** Wheel, touch and keys mark the user's scrolling for a moment; a held pointer (scrollbar drag) for as long as it is held. */
  const lastInputAt = useRef(-Infinity);
  const pointerHeld = useRef(false);
  const userScrolling = () => pointerHeld.current || performance.now() - lastInputAt.current < USER_SCROLL_MS;
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 56,
    overscan: 8,
    getItemKey: (index) => messages[index]?.id ?? index,
  });

  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || !atBottom.current || messages.length === 0) return;
    // Straight to the end of the canvas: the virtualizer renders (and measures) what is there,
    // which changes totalSize and runs this again until the bottom row sits at the bottom.
    el.scrollTop = el.scrollHeight;
  }, [messages.length, totalSize]);

  const userInput = () => { lastInputAt.current = performance.now(); };
  // The pointer may be released outside the list (a scrollbar drag that overshoots).
  useEffect(() => {
    const release = () => {
      if (!pointerHeld.current) return;
      pointerHeld.current = false;
      lastInputAt.current = performance.now();
    };
    window.addEventListener('pointerup', release, true);
    window.addEventListener('pointercancel', release, true);
    return () => {
      window.removeEventListener('pointerup', release, true);
      window.removeEventListener('pointercancel', release, true);
    };
  }, []);
  const onKeyDown = (e: KeyboardEvent) => { if (SCROLL_KEYS.has(e.key)) userInput(); };

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
      onWheel={userInput}
      onTouchMove={userInput}
      onPointerDown={() => { pointerHeld.current = true; }}
      onKeyDown={onKeyDown}
      onScroll={(e) => {
        const el = e.currentTarget;
        const near = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX;
        if (near) atBottom.current = true;
        else if (userScrolling()) atBottom.current = false;
      }}
    >
      <div className="message-canvas" style={{ height: totalSize }}>
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
