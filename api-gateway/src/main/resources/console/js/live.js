// One WebSocket to /api/v1/subscriptions for the page, shared by its subscriptions; reconnects and resumes.

import { token } from './api.js';

export class LiveSocket {
  constructor(onState) {
    this.handlers = new Map(); // client id → {subscribe message, onMessage, version}
    this.onState = onState || (() => {});
    this.closed = false;
    this.retry = 500;
    this.open();
  }

  open() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.ws = new WebSocket(`${scheme}//${location.host}/api/v1/subscriptions?access_token=${encodeURIComponent(token() || '')}`);
    this.onState('connecting');
    this.ws.addEventListener('open', () => {
      this.retry = 500;
      this.onState('live');
      for (const [id, h] of this.handlers) this.sendSubscribe(id, h);
    });
    this.ws.addEventListener('message', e => {
      let message;
      try { message = JSON.parse(e.data); } catch { return; }
      const h = message.id !== undefined ? this.handlers.get(message.id) : null;
      if (h) {
        if (typeof message.version === 'number') h.version = message.version;
        h.onMessage(message);
      } else if (message.type === 'error') {
        this.onState('error', message.detail);
      }
    });
    this.ws.addEventListener('close', e => {
      if (this.closed) return;
      this.onState('reconnecting', e.reason || (e.code === 1006 ? 'the connection dropped' : 'closed ' + e.code));
      setTimeout(() => { if (!this.closed) this.open(); }, this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    });
  }

  sendSubscribe(id, h) {
    const message = { ...h.message, op: h.message.op || 'subscribe', id };
    if (h.version !== undefined && message.op === 'subscribe') message.resumeVersion = h.version;
    this.ws.send(JSON.stringify(message));
  }

  /** message: {ruleId} | {dashboardId} | {op: 'tail'}; onMessage gets every server message of this id. */
  subscribe(id, message, onMessage) {
    const h = { message, onMessage, version: undefined };
    this.handlers.set(id, h);
    if (this.ws.readyState === WebSocket.OPEN) this.sendSubscribe(id, h);
  }

  unsubscribe(id) {
    this.handlers.delete(id);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: 'unsubscribe', id }));
  }

  close() {
    this.closed = true;
    this.ws.close(1000, 'page left');
  }
}
