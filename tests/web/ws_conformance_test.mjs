// Conformance tests for chatd's WebSocket endpoint (RFC 6455, GET /ws).
//
// Part (a) drives the server with the npm `ws` client, which is strict: it
// fails the connection on any server framing mistake (masked server frame,
// RSV bits, bad opcode, invalid UTF-8, unrequested subprotocol).
// Part (b) uses raw node:net sockets with hand-made frames, porting the
// Autobahn TestSuite case families (1.x sizes, 2.x pings, 3.x RSV, 4.x
// opcodes, 5.x fragmentation, 6.x UTF-8, 7.x close, 9.x limits) plus the
// HTTP handshake rules of docs/PROTOCOL.md.
//
// The binary comes from $CHATD_BINARY (set by ws_conformance_test.sh).
// Every wait is bounded: a test fails, it never hangs.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

const BINARY = process.env.CHATD_BINARY;
const WAIT_MS = 3000;         // One expected event.
const TEST_MS = 20000;        // One test.
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ---------------------------------------------------------------- helpers

let uniq = 0;
function fresh(prefix) { return `${prefix}${process.pid % 1000}_${++uniq}`; }
// Member names are one case-insensitive namespace for the whole server, and
// earlier cases' connections may still be open or closing: every case takes
// fresh names, as it takes fresh groups.
function freshName(prefix) {
  const n = fresh(prefix);
  assert.match(n, /^[A-Za-z0-9_.-]{1,32}$/, `member name ${n}`);
  return n;
}

function timeoutError(what, ms, extra = '') {
  return new Error(`timed out after ${ms} ms waiting for ${what}${extra ? ': ' + extra : ''}`);
}

// A queue of events with bounded waits.
class Inbox {
  constructor(name) { this.name = name; this.items = []; this.waiters = []; this.closed = null; }
  push(x) {
    const w = this.waiters.shift();
    if (w) w.resolve(x); else this.items.push(x);
  }
  close(reason) {
    this.closed = reason;
    for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.name}: ended (${reason}) while waiting`));
  }
  next(ms = WAIT_MS, what = 'item') {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.closed !== null) return Promise.reject(new Error(`${this.name}: ended (${this.closed}) while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const w = { resolve: (x) => { clearTimeout(t); resolve(x); }, reject: (e) => { clearTimeout(t); reject(e); } };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(timeoutError(`${this.name} ${what}`, ms));
      }, ms);
      this.waiters.push(w);
    });
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(timeoutError(what, ms)), ms); }),
  ]).finally(() => clearTimeout(t));
}

// ---------------------------------------------------------------- server

const servers = [];

async function startServer(extra = []) {
  assert.ok(BINARY, 'CHATD_BINARY is not set');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd_ws_'));
  const portFile = path.join(dir, 'port');
  const httpPortFile = path.join(dir, 'http_port');
  const args = [
    '--port=0', `--port_file=${portFile}`, '--http_port=0', `--http_port_file=${httpPortFile}`,
    '--irc_port=-1', '--ircs_port=-1',
    '--threads=2', '--max_msgs_per_sec=0', '--max_line_bytes=4096', ...extra,
  ];
  const proc = spawn(BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log = (log + d.toString()).slice(-20000); });
  let exited = null;
  const exitPromise = new Promise((r) => proc.on('exit', (code, sig) => { exited = { code, sig }; r(exited); }));
  const srv = { proc, args, dir, log: () => log, exitPromise, exited: () => exited };
  servers.push(srv);
  const deadline = Date.now() + 10000;
  const readPort = (f) => {
    try { const s = fs.readFileSync(f, 'utf8'); return /^\d+\n?$/.test(s) ? parseInt(s, 10) : 0; } catch { return 0; }
  };
  while (Date.now() < deadline) {
    if (exited) throw new Error(`chatd exited early ${JSON.stringify(exited)} args ${args.join(' ')}\n${log}`);
    srv.port = readPort(portFile);
    srv.httpPort = readPort(httpPortFile);
    if (srv.port && srv.httpPort) return srv;
    await sleep(20);
  }
  proc.kill('SIGKILL');
  throw new Error(`no port files from chatd within 10 s (args ${args.join(' ')})\n${log}`);
}

async function stopServer(srv) {
  if (!srv || srv.exited()) return srv && srv.exited();
  srv.proc.kill('SIGTERM');
  const r = await Promise.race([srv.exitPromise, sleep(5000).then(() => null)]);
  if (!r) { srv.proc.kill('SIGKILL'); await srv.exitPromise; }
  fs.rmSync(srv.dir, { recursive: true, force: true });
  return r;
}

process.on('exit', () => { for (const s of servers) if (!s.exited()) s.proc.kill('SIGKILL'); });

// ---------------------------------------------------------------- line client

class LineClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const c = new LineClient();
      c.sock = net.connect(port, '127.0.0.1', () => resolve(c));
      c.sock.once('error', reject);
    });
  }
  constructor() {
    this.lines = new Inbox('tcp line client');
    this.partial = '';
  }
  set sock(s) {
    this._sock = s;
    s.setEncoding('utf8');
    s.on('data', (d) => {
      this.partial += d;
      let i;
      while ((i = this.partial.indexOf('\n')) >= 0) {
        this.lines.push(this.partial.slice(0, i));
        this.partial = this.partial.slice(i + 1);
      }
    });
    s.on('close', () => this.lines.close('tcp closed'));
    s.on('error', () => {});
  }
  get sock() { return this._sock; }
  send(line) { this._sock.write(line + '\n'); }
  next(ms = WAIT_MS) { return this.lines.next(ms, 'line'); }
  async expect(line, ms = WAIT_MS) { assert.equal(await this.next(ms), line); }
  destroy() { this._sock.destroy(); }
}

// ---------------------------------------------------------------- ws client (npm ws)

function wsUrl(srv) { return `ws://127.0.0.1:${srv.httpPort}/ws`; }

class WsClient {
  static connect(srv, { protocol = 'chatd.line', options = {} } = {}) {
    const c = new WsClient();
    c.ws = protocol === null ? new WebSocket(wsUrl(srv), options) : new WebSocket(wsUrl(srv), protocol, options);
    c.ws.on('message', (data, isBinary) => {
      if (isBinary) c.errors.push(new Error('server sent a binary message'));
      c.msgs.push(data.toString('utf8'));
    });
    c.ws.on('pong', (data) => c.pongs.push(Buffer.from(data)));
    c.ws.on('ping', (data) => c.pings.push(Buffer.from(data)));
    c.ws.on('error', (e) => { c.errors.push(e); });
    c.closed = new Promise((r) => c.ws.on('close', (code, reason) => {
      c.msgs.close(`ws closed ${code}`);
      r({ code, reason: reason.toString() });
    }));
    return withTimeout(new Promise((resolve, reject) => {
      c.ws.once('open', () => resolve(c));
      c.ws.once('error', reject);
      c.ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    }), WAIT_MS, 'ws open');
  }
  constructor() {
    this.msgs = new Inbox('ws client');
    this.pongs = new Inbox('ws pongs');
    this.pings = [];
    this.errors = [];
  }
  send(s) { this.ws.send(s); }
  next(ms = WAIT_MS) { return this.msgs.next(ms, 'message'); }
  async expect(line, ms = WAIT_MS) { assert.equal(await this.next(ms), line); }
  async closeInfo(ms = WAIT_MS) { return withTimeout(this.closed, ms, 'ws close'); }
  assertClean() { assert.deepEqual(this.errors.map(String), [], 'ws client saw errors'); }
  terminate() { try { this.ws.terminate(); } catch {} }
}

async function wsJoin(srv, group, name, online, opts) {
  const c = await WsClient.connect(srv, opts);
  c.send(`JOIN ${group} ${name}`);
  const m = await c.next();
  if (online === undefined) assert.match(m, new RegExp(`^\\* you joined ${group} as ${name} \\(\\d+ online\\)$`));
  else assert.equal(m, `* you joined ${group} as ${name} (${online} online)`);
  return c;
}

// ---------------------------------------------------------------- raw frames

const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

function toBuf(p) { return Buffer.isBuffer(p) ? p : Buffer.from(p ?? '', 'utf8'); }

// Builds one client frame. `len` overrides the length field (for header-only
// frames); `mask: false` sends it unmasked.
function frame(opcode, payload = '', { fin = true, rsv = 0, mask = true, key, len } = {}) {
  const data = toBuf(payload);
  const n = len ?? data.length;
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f))];
  const m = mask ? 0x80 : 0;
  let ext;
  if (n < 126) { head.push(m | n); ext = Buffer.alloc(0); }
  else if (n < 65536) { head.push(m | 126); ext = Buffer.alloc(2); ext.writeUInt16BE(n); }
  else { head.push(m | 127); ext = Buffer.alloc(8); ext.writeBigUInt64BE(BigInt(n)); }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const k = key ?? crypto.randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ k[i & 3];
  return Buffer.concat([Buffer.from(head), ext, k, masked]);
}

function closePayload(code, reason = '') {
  if (code === undefined) return Buffer.alloc(0);
  const b = Buffer.alloc(2); b.writeUInt16BE(code);
  return Buffer.concat([b, toBuf(reason)]);
}

function hex(buf, max = 64) {
  const b = Buffer.from(buf);
  const s = b.subarray(0, max).toString('hex').replace(/(..)/g, '$1 ').trim();
  return b.length > max ? `${s} ... (${b.length} bytes)` : s;
}

function acceptFor(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

// A raw TCP connection to the HTTP port: handshake by hand, then an
// incremental parser for server frames that checks the server's framing.
class RawConn {
  static connect(port) {
    return withTimeout(new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawConn(s)));
      s.once('error', reject);
    }), WAIT_MS, 'tcp connect');
  }
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.waiters = new Set();
    this.frames = [];       // Every frame received, for reports.
    this.sent = [];         // Every chunk written, for reports.
    this.violations = [];   // Server framing mistakes.
    this.fragments = null;  // A fragmented server message being reassembled.
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._wake(); });
    sock.on('end', () => { this.ended = true; this._wake(); });
    sock.on('close', () => { this.ended = true; this._wake(); });
    sock.on('error', (e) => { this.error = e; this.ended = true; this._wake(); });
  }
  _wake() { for (const w of [...this.waiters]) w(); }
  // Waits until fn() returns something other than undefined.
  until(fn, ms, what) {
    return new Promise((resolve, reject) => {
      let t;
      const check = () => {
        let v;
        try { v = fn(); } catch (e) { this.waiters.delete(check); clearTimeout(t); reject(e); return; }
        if (v !== undefined) { this.waiters.delete(check); clearTimeout(t); resolve(v); }
      };
      this.waiters.add(check);
      t = setTimeout(() => {
        this.waiters.delete(check);
        reject(timeoutError(what, ms, this.describe()));
      }, ms);
      check();
    });
  }
  describe() {
    return `sent [${this.sent.map((b) => hex(b, 24)).join(' | ')}]; received frames [${this.frames.map(fmtFrame).join(', ')}]; ` +
      `unparsed ${hex(this.buf, 32) || '(none)'}; tcp ${this.ended ? 'closed' : 'open'}`;
  }
  write(b) { b = toBuf(b); this.sent.push(b); if (!this.sock.destroyed) this.sock.write(b); }
  async writeBytewise(b, gapMs = 0) {
    b = toBuf(b);
    this.sent.push(b);
    for (let i = 0; i < b.length; i++) {
      this.sock.write(b.subarray(i, i + 1));
      if (gapMs) await sleep(gapMs); else await new Promise((r) => setImmediate(r));
    }
  }
  destroy() { this.sock.destroy(); }

  // ---- HTTP
  static request({ path = '/ws', host, key = crypto.randomBytes(16).toString('base64'), version = '13',
    upgrade = 'websocket', connection = 'Upgrade', protocol, origin, extra = [], omit = [] } = {}) {
    const h = [`GET ${path} HTTP/1.1`];
    const add = (name, v) => { if (v !== undefined && v !== null && !omit.includes(name)) h.push(`${name}: ${v}`); };
    add('Host', host);
    add('Upgrade', upgrade);
    add('Connection', connection);
    add('Sec-WebSocket-Key', key);
    add('Sec-WebSocket-Version', version);
    add('Sec-WebSocket-Protocol', protocol);
    add('Origin', origin);
    h.push(...extra);
    return { text: h.join('\r\n') + '\r\n\r\n', key };
  }
  readResponse(ms = WAIT_MS) {
    return this.until(() => {
      const i = this.buf.indexOf('\r\n\r\n');
      if (i < 0) {
        if (this.ended) throw new Error(`connection closed before an HTTP response; got ${JSON.stringify(this.buf.toString('latin1'))}`);
        return undefined;
      }
      const head = this.buf.subarray(0, i).toString('latin1');
      this.buf = this.buf.subarray(i + 4);
      const [statusLine, ...lines] = head.split('\r\n');
      const m = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
      const headers = {};
      for (const l of lines) {
        const j = l.indexOf(':');
        if (j <= 0) throw new Error(`bad header line ${JSON.stringify(l)}`);
        const name = l.slice(0, j).trim().toLowerCase();
        const v = l.slice(j + 1).trim();
        headers[name] = name in headers ? `${headers[name]}, ${v}` : v;
      }
      return { status: parseInt(m[1], 10), reason: m[2] ?? '', headers, head };
    }, ms, 'HTTP response');
  }

  // ---- frames
  // Parses one server frame from buf, or returns undefined.
  _parseFrame() {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const fin = !!(b[0] & 0x80);
    const rsv = (b[0] >> 4) & 7;
    const opcode = b[0] & 0x0f;
    const masked = !!(b[1] & 0x80);
    let n = b[1] & 0x7f;
    let off = 2;
    if (n === 126) {
      if (b.length < 4) return undefined;
      n = b.readUInt16BE(2); off = 4;
      if (n < 126) this.violations.push(`non-minimal 16-bit length ${n}`);
    } else if (n === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2); off = 10;
      if (big > 0x7fffffffn) throw new Error(`absurd server frame length ${big}`);
      n = Number(big);
      if (n < 65536) this.violations.push(`non-minimal 64-bit length ${n}`);
    }
    let key = null;
    if (masked) {
      if (b.length < off + 4) return undefined;
      key = b.subarray(off, off + 4); off += 4;
    }
    if (b.length < off + n) return undefined;
    let payload = Buffer.from(b.subarray(off, off + n));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    this.buf = b.subarray(off + n);
    const f = { fin, rsv, opcode, masked, payload };
    this.frames.push(f);
    if (masked) this.violations.push(`masked server frame ${fmtFrame(f)}`);
    if (rsv) this.violations.push(`server frame with RSV ${rsv} ${fmtFrame(f)}`);
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) this.violations.push(`server frame with opcode ${opcode}`);
    if (opcode >= 8 && (!fin || n > 125)) this.violations.push(`bad server control frame ${fmtFrame(f)}`);
    return f;
  }
  nextFrame(ms = WAIT_MS, what = 'a frame') {
    return this.until(() => {
      const f = this._parseFrame();
      if (f) return f;
      if (this.ended) throw new Error(`TCP closed while waiting for ${what}; ${this.describe()}`);
      return undefined;
    }, ms, what);
  }
  // Next complete server message or control frame; reassembles fragments.
  async nextEvent(ms = WAIT_MS, what = 'a message') {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()), what);
      if (f.opcode >= 8) return f;
      if (f.opcode === OP.CONT) {
        if (!this.fragments) { this.violations.push('server sent an orphan continuation'); continue; }
        this.fragments.parts.push(f.payload);
        if (f.fin) {
          const m = { opcode: this.fragments.opcode, fin: true, payload: Buffer.concat(this.fragments.parts) };
          this.fragments = null;
          return m;
        }
        continue;
      }
      if (this.fragments) this.violations.push('server started a message inside a fragmented one');
      if (f.fin) return f;
      this.fragments = { opcode: f.opcode, parts: [f.payload] };
    }
  }
  // Next text message, skipping (and recording) pings and pongs.
  async nextText(ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = await this.nextEvent(Math.max(1, deadline - Date.now()), 'a text message');
      if (e.opcode === OP.TEXT) {
        const s = e.payload.toString('utf8');
        if (!Buffer.from(s, 'utf8').equals(e.payload)) this.violations.push(`invalid UTF-8 from server ${hex(e.payload)}`);
        return s;
      }
      if (e.opcode === OP.CLOSE) throw new Error(`expected a text message, got close ${fmtFrame(e)}; ${this.describe()}`);
      if (e.opcode === OP.BINARY) this.violations.push('server sent a binary message');
    }
  }
  async expectText(s, ms = WAIT_MS) { assert.equal(await this.nextText(ms), s); }
  // Waits for the server's close frame, skipping texts (e.g. an ERROR line)
  // and pings; returns { code, reason, texts }.
  async nextClose(ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    const texts = [];
    for (;;) {
      const e = await this.nextEvent(Math.max(1, deadline - Date.now()), 'a close frame');
      if (e.opcode === OP.TEXT) { texts.push(e.payload.toString('utf8')); continue; }
      if (e.opcode !== OP.CLOSE) continue;
      const p = e.payload;
      if (p.length === 1) this.violations.push('server close frame with a 1-byte payload');
      const code = p.length >= 2 ? p.readUInt16BE(0) : null;
      const reasonBytes = p.subarray(2);
      if (!Buffer.from(reasonBytes.toString('utf8'), 'utf8').equals(reasonBytes)) this.violations.push(`close reason not UTF-8 ${hex(reasonBytes)}`);
      if (code !== null && (code < 1000 || [1004, 1005, 1006, 1015].includes(code) || (code >= 1016 && code < 3000) || code >= 5000)) this.violations.push(`server sent invalid close code ${code}`);
      this.closeIndex = this.frames.indexOf(e);
      return { code, reason: reasonBytes.toString('utf8'), texts, frame: e };
    }
  }
  // Expects a close with `code` (and, by default, that the server then drops
  // TCP once we answer its close).
  async expectClose(code, { ms = WAIT_MS, answer = true, texts } = {}) {
    const c = await this.nextClose(ms);
    assert.equal(c.code, code, `close code: got ${c.code} (reason ${JSON.stringify(c.reason)}), want ${code}; ${this.describe()}`);
    if (texts) assert.deepEqual(c.texts, texts);
    if (answer) {
      this.write(frame(OP.CLOSE, closePayload(code)));
      await this.expectTcpEnd();
    }
    this.assertClean();
    return c;
  }
  async expectTcpEnd(ms = WAIT_MS) {
    await this.until(() => (this.ended ? true : undefined), ms, 'the server to close TCP');
    if (this.closeIndex !== undefined) {
      while (this._parseFrame()) {}
      const after = this.frames.slice(this.closeIndex + 1);
      if (after.length || this.buf.length) this.violations.push(`server sent data after its close frame: [${after.map(fmtFrame).join(', ')}] ${hex(this.buf)}`);
    }
    return true;
  }
  assertClean() { assert.deepEqual(this.violations, [], 'server framing violations'); }

  sendText(s, opts) { this.write(frame(OP.TEXT, s, opts)); }
}

function fmtFrame(f) {
  const names = { 0: 'cont', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
  let desc = `${names[f.opcode] ?? 'op' + f.opcode}${f.fin ? '' : '(fin=0)'}${f.rsv ? ` rsv=${f.rsv}` : ''}${f.masked ? ' MASKED' : ''}`;
  if (f.opcode === 8 && f.payload.length >= 2) desc += ` ${f.payload.readUInt16BE(0)} ${JSON.stringify(f.payload.subarray(2).toString('utf8'))}`;
  else if (f.opcode === 1) desc += ` ${JSON.stringify(f.payload.length > 60 ? f.payload.subarray(0, 60).toString('utf8') + `...(${f.payload.length} bytes)` : f.payload.toString('utf8'))}`;
  else desc += ` [${hex(f.payload, 16)}]`;
  return desc;
}

// Opens a WebSocket by hand; `pipelined` bytes go in the same write as the
// request. Returns the connection and the 101 response.
async function rawOpen(srv, { protocol, pipelined, bytewise = false, ...req } = {}) {
  const c = await RawConn.connect(srv.httpPort);
  const r = RawConn.request({ host: `127.0.0.1:${srv.httpPort}`, protocol, ...req });
  const bytes = Buffer.concat([Buffer.from(r.text, 'latin1'), pipelined ?? Buffer.alloc(0)]);
  if (bytewise) await c.writeBytewise(bytes); else c.write(bytes);
  const res = await c.readResponse();
  assert.equal(res.status, 101, `handshake: ${res.head}`);
  assert.equal(res.headers['sec-websocket-accept'], acceptFor(r.key));
  c.key = r.key;
  return { c, res };
}

async function rawJoin(srv, group, name) {
  const { c } = await rawOpen(srv);
  c.sendText(`JOIN ${group} ${name}`);
  const m = await c.nextText();
  assert.match(m, new RegExp(`^\\* you joined ${group} as ${name} \\(\\d+ online\\)$`), c.describe());
  return c;
}

// Two raw members of a fresh group, named na and nb: a sends, b receives
// `${na}: ...`.
async function rawPair(srv) {
  const g = fresh('g');
  const [na, nb] = [freshName('a'), freshName('b')];
  const a = await rawJoin(srv, g, na);
  const b = await rawJoin(srv, g, nb);
  await a.expectText(`* ${nb} has joined`);
  return { g, a, b, na, nb };
}

// Sends an HTTP request by hand and returns the response head.
async function httpExchange(srv, req) {
  const c = await RawConn.connect(srv.httpPort);
  const r = typeof req === 'string' ? { text: req } : RawConn.request({ host: `127.0.0.1:${srv.httpPort}`, ...req });
  c.write(r.text);
  try { return await c.readResponse(); } finally { c.destroy(); }
}

function lineSeenLeft(t, name) { return t.lines.items.includes(`* ${name} has left`); }

// ---------------------------------------------------------------- suite

let srv;     // --max_line_bytes=4096
let big;     // --max_line_bytes=70000
const open = [];  // Connections to tear down after each test file.
function track(x) { open.push(x); return x; }

before(async () => {
  [srv, big] = await Promise.all([startServer(), startServer(['--max_line_bytes=70000'])]);
});

after(async () => {
  for (const x of open) { try { x.destroy ? x.destroy() : x.terminate(); } catch {} }
  await Promise.all(servers.map(stopServer));
});

const T = { timeout: TEST_MS };

// ============================================================ (a) npm ws client
describe('(a) strict ws client', () => {
  test('subprotocol chatd.line is echoed, and absent when not offered', T, async () => {
    const a = track(await WsClient.connect(srv));
    assert.equal(a.ws.protocol, 'chatd.line');
    const b = track(await WsClient.connect(srv, { protocol: null }));
    assert.equal(b.ws.protocol, '');
    a.ws.close(1000); b.ws.close(1000);
    assert.equal((await a.closeInfo()).code, 1000);
    assert.equal((await b.closeInfo()).code, 1000);
    a.assertClean(); b.assertClean();
  });

  test('two ws clients and a TCP line client chat in one group, 200 messages each in order', T, async () => {
    const g = fresh('room');
    const [na, nb, nc] = [freshName('alice'), freshName('bob'), freshName('carol')];
    const alice = track(await wsJoin(srv, g, na, 1));
    const bob = track(await wsJoin(srv, g, nb, 2));
    await alice.expect(`* ${nb} has joined`);
    const carol = track(await LineClient.connect(srv.port));
    carol.send(`JOIN ${g} ${nc}`);
    await carol.expect(`* you joined ${g} as ${nc} (3 online)`);
    await alice.expect(`* ${nc} has joined`);
    await bob.expect(`* ${nc} has joined`);

    const N = 200;
    for (let i = 0; i < N; i++) {
      alice.send(`from ${na} ${i}`);
      bob.send(`from ${nb} ${i}`);
      carol.send(`from ${nc} ${i}`);
    }
    const collect = async (who, c, senders) => {
      const want = Object.fromEntries(senders.map((s) => [s, 0]));
      for (let k = 0; k < N * senders.length; k++) {
        const m = await c.next(5000);
        const mm = /^(\w+): from (\w+) (\d+)$/.exec(m);
        assert.ok(mm && mm[1] === mm[2] && senders.includes(mm[1]), `${who} got unexpected ${JSON.stringify(m)}`);
        assert.equal(parseInt(mm[3], 10), want[mm[1]], `${who}: ${mm[1]}'s messages out of order`);
        want[mm[1]]++;
      }
    };
    await Promise.all([
      collect('alice', alice, [nb, nc]),
      collect('bob', bob, [na, nc]),
      collect('carol', carol, [na, nb]),
    ]);

    alice.send('/who');
    await alice.expect(`* online in ${g}: ${na}, ${nb}, ${nc}`);
    carol.send('/who');
    await carol.expect(`* online in ${g}: ${na}, ${nb}, ${nc}`);

    carol.send('/quit');
    await carol.expect('* bye');
    await alice.expect(`* ${nc} has left`);
    await bob.expect(`* ${nc} has left`);

    alice.send('/quit');
    await alice.expect('* bye');
    const ci = await alice.closeInfo();
    assert.equal(ci.code, 1000);
    await bob.expect(`* ${na} has left`);

    bob.ws.close(1000, 'done');
    assert.equal((await bob.closeInfo()).code, 1000);
    alice.assertClean(); bob.assertClean();
  });

  test('//x sends /x, unknown command keeps the connection', T, async () => {
    const g = fresh('cmd');
    const [na, nb] = [freshName('a'), freshName('b')];
    const a = track(await wsJoin(srv, g, na, 1));
    const b = track(await wsJoin(srv, g, nb, 2));
    await a.expect(`* ${nb} has joined`);
    a.send('//slash');
    await b.expect(`${na}: /slash`);
    a.send('/nope arg');
    await a.expect('ERROR unknown command /nope');
    a.send('still here');
    await b.expect(`${na}: still here`);
    a.assertClean(); b.assertClean();
  });

  test('name taken → ERROR name taken + close 1008', T, async () => {
    const g = fresh('taken');
    const dup = freshName('dup');
    const a = track(await wsJoin(srv, g, dup, 1));
    const b = track(await WsClient.connect(srv));
    b.send(`JOIN ${g} ${dup}`);
    await b.expect('ERROR name taken');
    assert.equal((await b.closeInfo()).code, 1008);
    b.assertClean(); a.assertClean();
  });

  test('names are one case-insensitive namespace: taken in another group or as dup for Dup → ERROR name taken; free once its holder leaves', T, async () => {
    const [g, h] = [fresh('held'), fresh('other')];
    const [dup, nw] = [freshName('Dup'), freshName('w')];
    const a = track(await wsJoin(srv, g, dup, 1));
    const w = track(await wsJoin(srv, g, nw, 2));
    for (const [group, name] of [[h, dup], [h, dup.toLowerCase()], [g, dup.toLowerCase()], [h, dup.toUpperCase()]]) {
      const b = track(await WsClient.connect(srv));
      b.send(`JOIN ${group} ${name}`);
      await b.expect('ERROR name taken');
      assert.equal((await b.closeInfo()).code, 1008, `JOIN ${group} ${name}`);
      b.assertClean();
    }
    // The same namespace over TCP.
    const t = track(await LineClient.connect(srv.port));
    t.send(`JOIN ${h} ${dup.toLowerCase()}`);
    await t.expect('ERROR name taken');
    await assert.rejects(t.next(), /ended/);
    // Once a's connection ends (w sees it leave), dup is free in any case.
    a.ws.close(1000);
    assert.equal((await a.closeInfo()).code, 1000);
    await w.expect(`* ${dup} has left`);
    const c = track(await wsJoin(srv, h, dup.toLowerCase(), 1));
    a.assertClean(); w.assertClean(); c.assertClean();
  });

  test('group names are case-insensitive; a group is shown as first written', T, async () => {
    const grp = fresh('Room');
    const [na, nb, nt] = [freshName('a'), freshName('b'), freshName('t')];
    const a = track(await wsJoin(srv, grp, na, 1));
    const b = track(await WsClient.connect(srv));
    b.send(`JOIN ${grp.toLowerCase()} ${nb}`);
    await b.expect(`* you joined ${grp} as ${nb} (2 online)`);
    await a.expect(`* ${nb} has joined`);
    const t = track(await LineClient.connect(srv.port));
    t.send(`JOIN ${grp.toUpperCase()} ${nt}`);
    await t.expect(`* you joined ${grp} as ${nt} (3 online)`);
    await a.expect(`* ${nt} has joined`);
    await b.expect(`* ${nt} has joined`);
    b.send('/who');
    await b.expect(`* online in ${grp}: ${na}, ${nb}, ${nt}`);
    t.send('hello');
    await a.expect(`${nt}: hello`);
    await b.expect(`${nt}: hello`);
    a.assertClean(); b.assertClean();
  });

  test('bad first message → ERROR expected JOIN + close 1008', T, async () => {
    const b = track(await WsClient.connect(srv));
    b.send('hello');
    await b.expect('ERROR expected JOIN <group> <name>');
    assert.equal((await b.closeInfo()).code, 1008);
    const c = track(await WsClient.connect(srv));
    c.send(`JOIN bad!group ${freshName('n')}`);
    await c.expect('ERROR invalid group name');
    assert.equal((await c.closeInfo()).code, 1008);
    b.assertClean(); c.assertClean();
  });

  test('4096-byte message delivered; 4097 → ERROR line too long + close 1009', T, async () => {
    const g = fresh('long');
    const [na, nb] = [freshName('a'), freshName('b')];
    const a = track(await wsJoin(srv, g, na, 1));
    const b = track(await wsJoin(srv, g, nb, 2));
    await a.expect(`* ${nb} has joined`);
    const ok = 'x'.repeat(4096);
    a.send(ok);
    await b.expect(`${na}: ${ok}`);
    a.send('y'.repeat(4097));
    await a.expect('ERROR line too long');
    assert.equal((await a.closeInfo()).code, 1009);
    await b.expect(`* ${na} has left`);
    a.assertClean(); b.assertClean();
  });

  test('ws.ping(data) → pong with the same data', T, async () => {
    const a = track(await wsJoin(srv, fresh('ping'), freshName('a'), 1));
    for (const data of [Buffer.alloc(0), Buffer.from('hello'), crypto.randomBytes(125)]) {
      a.ws.ping(data);
      const p = await a.pongs.next(WAIT_MS, 'pong');
      assert.ok(p.equals(data), `pong ${hex(p)} != ping ${hex(data)}`);
    }
    a.assertClean();
  });

  test('multi-byte UTF-8 passes intact between ws and TCP', T, async () => {
    const g = fresh('utf');
    const [na, nt] = [freshName('a'), freshName('t')];
    const a = track(await wsJoin(srv, g, na, 1));
    const t = track(await LineClient.connect(srv.port));
    t.send(`JOIN ${g} ${nt}`);
    await t.expect(`* you joined ${g} as ${nt} (2 online)`);
    await a.expect(`* ${nt} has joined`);
    const s = 'κόσμε 😀 日本語 ü';
    a.send(s);
    await t.expect(`${na}: ${s}`);
    t.send(s);
    await a.expect(`${nt}: ${s}`);
    a.assertClean();
  });
});

// ============================================================ (b) raw frames
describe('(b) HTTP handshake', () => {
  test('101 with the right accept, headers and no subprotocol unless offered', T, async () => {
    const { c, res } = await rawOpen(srv);
    assert.match(res.headers.upgrade ?? '', /^websocket$/i);
    assert.match(res.headers.connection ?? '', /\bupgrade\b/i);
    assert.equal(res.headers['sec-websocket-protocol'], undefined);
    c.destroy();
    const o = await rawOpen(srv, { protocol: 'foo, chatd.line' });
    assert.equal(o.res.headers['sec-websocket-protocol'], 'chatd.line');
    o.c.destroy();
    const n = await rawOpen(srv, { protocol: 'other' });
    assert.equal(n.res.headers['sec-websocket-protocol'], undefined);
    n.c.destroy();
  });

  test('case-insensitive tokens and Connection lists', T, async () => {
    for (const [upgrade, connection] of [['WebSocket', 'keep-alive, Upgrade'], ['websocket', 'upgrade'], ['WEBSOCKET', 'Keep-Alive,UPGRADE']]) {
      const { c } = await rawOpen(srv, { upgrade, connection });
      c.sendText(`JOIN ${fresh('ci')} ${freshName('n')}`);
      assert.match(await c.nextText(), /^\* you joined /);
      c.destroy();
    }
  });

  test('lower-case header names; subprotocol offered over two header lines', T, async () => {
    const c = await RawConn.connect(srv.httpPort); track(c);
    const key = crypto.randomBytes(16).toString('base64');
    c.write(`GET /ws HTTP/1.1\r\nhost: 127.0.0.1:${srv.httpPort}\r\nupgrade: websocket\r\nconnection: upgrade\r\n` +
      `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: foo\r\nsec-websocket-protocol: chatd.line\r\n\r\n`);
    const res = await c.readResponse();
    assert.equal(res.status, 101, res.head);
    assert.equal(res.headers['sec-websocket-accept'], acceptFor(key));
    assert.equal(res.headers['sec-websocket-protocol'], 'chatd.line');
  });

  test('Sec-WebSocket-Version 8 → 426 with Sec-WebSocket-Version: 13', T, async () => {
    const r = await httpExchange(srv, { version: '8' });
    assert.equal(r.status, 426, r.head);
    assert.equal(r.headers['sec-websocket-version'], '13');
  });

  test('missing or invalid key → 400', T, async () => {
    assert.equal((await httpExchange(srv, { omit: ['Sec-WebSocket-Key'] })).status, 400);
    assert.equal((await httpExchange(srv, { key: 'not-base64-16-bytes' })).status, 400);
    assert.equal((await httpExchange(srv, { key: Buffer.alloc(15).toString('base64') })).status, 400);
  });

  test('no Upgrade header (Connection: Upgrade, key and version present) → 426 naming websocket and version 13', T, async () => {
    const r = await httpExchange(srv, { omit: ['Upgrade'] });
    assert.equal(r.status, 426, r.head);
    assert.match(r.head, /Sec-WebSocket-Version: 13/i);
  });

  test('Connection without the upgrade token → 426 naming websocket and version 13', T, async () => {
    const r = await httpExchange(srv, { connection: 'keep-alive' });
    assert.equal(r.status, 426, r.head);
    assert.match(r.head, /Sec-WebSocket-Version: 13/i);
  });

  test('Upgrade: h2c (not websocket) → 426 naming websocket and version 13', T, async () => {
    const r = await httpExchange(srv, { upgrade: 'h2c' });
    assert.equal(r.status, 426, r.head);
    assert.match(r.head, /Sec-WebSocket-Version: 13/i);
  });

  test('plain GET /ws without any upgrade headers → 400 or 426', T, async () => {
    const plain = await httpExchange(srv, `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${srv.httpPort}\r\n\r\n`);
    assert.ok([400, 426].includes(plain.status), plain.head);
  });

  test('Origin: same host accepted, other host → 403', T, async () => {
    const { c } = await rawOpen(srv, { origin: `http://127.0.0.1:${srv.httpPort}` });
    c.destroy();
    const r = await httpExchange(srv, { origin: 'http://evil.example.com' });
    assert.equal(r.status, 403, r.head);
  });

  test('--ws_allowed_origins lists allowed origins', T, async () => {
    const s = await startServer(['--ws_allowed_origins=http://example.com,https://chat.example.org']);
    try {
      const { c } = await rawOpen(s, { origin: 'http://example.com' });
      c.destroy();
      const d = await rawOpen(s, { origin: 'https://chat.example.org' });
      d.c.destroy();
      assert.equal((await httpExchange(s, { origin: 'http://evil.example.com' })).status, 403);
    } finally { await stopServer(s); }
  });

  test('frames pipelined right behind the request (before the 101 arrives)', T, async () => {
    const g = fresh('pipe');
    const { c } = await rawOpen(srv, { pipelined: frame(OP.TEXT, `JOIN ${g} early`) });
    await c.expectText(`* you joined ${g} as early (1 online)`);
    c.write(frame(OP.CLOSE, closePayload(1000)));
    await c.expectClose(1000, { answer: false });
    await c.expectTcpEnd();
  });

  test('handshake and frames in 1-byte TCP writes', T, async () => {
    const g = fresh('byte');
    const [na, nb] = [freshName('a'), freshName('b')];
    const b = track(await rawJoin(srv, g, nb));
    const { c } = await rawOpen(srv, { bytewise: true, pipelined: frame(OP.TEXT, `JOIN ${g} ${na}`) });
    await c.expectText(`* you joined ${g} as ${na} (2 online)`);
    await c.writeBytewise(Buffer.concat([frame(OP.TEXT, 'one byte at a time'), frame(OP.PING, 'pp'),
      frame(OP.TEXT, 'x'.repeat(300))]));
    await b.expectText(`* ${na} has joined`);
    await b.expectText(`${na}: one byte at a time`);
    await b.expectText(`${na}: ${'x'.repeat(300)}`);
    const p = await c.nextEvent();
    assert.equal(p.opcode, OP.PONG); assert.equal(p.payload.toString(), 'pp');
    c.assertClean(); b.assertClean();
    c.destroy();
  });
});

describe('(b) 1.x text sizes', () => {
  test('1.x text 0/125/126/65535/65536 bytes (and server frames of those sizes)', T, async () => {
    const { a, b, na } = await rawPair(big);
    track(a); track(b);
    // Empty message: ignored like an empty line, so the marker comes next.
    a.sendText('');
    a.sendText('marker');
    await b.expectText(`${na}: marker`);
    for (const n of [1, 122, 123, 125, 126, 127, 65532, 65533, 65535, 65536, 69997]) {
      const s = String.fromCharCode(97 + (n % 26)).repeat(n);
      a.sendText(s);
      const got = await b.nextText(5000);
      assert.equal(got.length, na.length + 2 + n, `size ${n}: got ${got.length - na.length - 2}`);
      assert.equal(got, `${na}: ${s}`);
    }
    a.assertClean(); b.assertClean();
  });

  test('1.x binary message → close 1003', T, async () => {
    const c = track(await rawJoin(srv, fresh('bin'), freshName('a')));
    c.write(frame(OP.BINARY, Buffer.from([0, 1, 2, 0xff])));
    await c.expectClose(1003);
  });
});

describe('(b) 2.x ping/pong', () => {
  for (const [name, payload] of [['empty', Buffer.alloc(0)], ['text', Buffer.from('Hello, world!')],
    ['binary 125 bytes', crypto.randomBytes(125)], ['0xff bytes', Buffer.alloc(20, 0xff)]]) {
    test(`2.x ping ${name} → pong with the same payload`, T, async () => {
      const c = track(await rawJoin(srv, fresh('p'), freshName('a')));
      c.write(frame(OP.PING, payload));
      const e = await c.nextEvent();
      assert.equal(e.opcode, OP.PONG, fmtFrame(e));
      assert.ok(e.payload.equals(payload), `pong ${hex(e.payload)} != ${hex(payload)}`);
      c.assertClean();
    });
  }

  test('2.x ping before JOIN is answered', T, async () => {
    const { c } = await rawOpen(srv);
    track(c);
    c.write(frame(OP.PING, 'early'));
    const e = await c.nextEvent();
    assert.equal(e.opcode, OP.PONG); assert.equal(e.payload.toString(), 'early');
  });

  test('2.x 126-byte ping → 1002', T, async () => {
    const c = track(await rawJoin(srv, fresh('p'), freshName('a')));
    c.write(frame(OP.PING, Buffer.alloc(126, 0x41)));
    await c.expectClose(1002);
  });

  test('2.x unsolicited pong is ignored; 10 pings in a row each answered', T, async () => {
    const { a, b, na } = await rawPair(srv);
    track(a); track(b);
    a.write(frame(OP.PONG, 'unsolicited'));
    a.sendText('after pong');
    await b.expectText(`${na}: after pong`);
    a.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame(OP.PING, `p${i}`))));
    for (let i = 0; i < 10; i++) {
      const e = await a.nextEvent();
      assert.equal(e.opcode, OP.PONG); assert.equal(e.payload.toString(), `p${i}`);
    }
    a.assertClean();
  });
});

describe('(b) 3.x RSV bits', () => {
  for (const [rsv, op, label] of [[4, OP.TEXT, 'RSV1 text'], [2, OP.TEXT, 'RSV2 text'], [1, OP.TEXT, 'RSV3 text'],
    [7, OP.TEXT, 'RSV1-3 text'], [4, OP.PING, 'RSV1 ping'], [2, OP.CLOSE, 'RSV2 close'], [4, OP.CONT, 'RSV1 continuation']]) {
    test(`3.x ${label} → 1002`, T, async () => {
      const { a, b, na } = await rawPair(srv);
      track(a); track(b);
      a.sendText('before');
      const payload = op === OP.CLOSE ? closePayload(1000) : 'bad';
      if (op === OP.CONT) a.write(frame(OP.TEXT, 'start', { fin: false }));
      a.write(frame(op, payload, { rsv }));
      a.write(frame(OP.PING, 'after'));
      await b.expectText(`${na}: before`);
      await a.expectClose(1002);
      await b.expectText(`* ${na} has left`);
    });
  }
});

describe('(b) 4.x reserved opcodes', () => {
  for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    test(`4.x opcode ${op} → 1002`, T, async () => {
      const c = track(await rawJoin(srv, fresh('op'), freshName('a')));
      c.write(frame(op, op >= 8 ? 'ctl' : 'data'));
      await c.expectClose(1002);
    });
  }
});

describe('(b) 5.x fragmentation', () => {
  test('5.x text in 2 fragments', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    a.write(frame(OP.TEXT, 'frag', { fin: false }));
    a.write(frame(OP.CONT, 'mented'));
    await b.expectText(`${na}: fragmented`);
    b.assertClean();
  });

  test('5.x text in many fragments incl. empty ones, one write and separate writes', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    const parts = ['', 'a', 'bc', '', 'def', 'g'.repeat(200), '', 'end'];
    const frames = parts.map((p, i) => frame(i === 0 ? OP.TEXT : OP.CONT, p, { fin: i === parts.length - 1 }));
    a.write(Buffer.concat(frames));
    await b.expectText(`${na}: ${parts.join('')}`);
    for (const f of frames) { a.write(f); await sleep(5); }
    await b.expectText(`${na}: ${parts.join('')}`);
    const many = Array.from({ length: 300 }, (_, i) => String(i % 10));
    a.write(Buffer.concat(many.map((p, i) => frame(i === 0 ? OP.TEXT : OP.CONT, p, { fin: i === many.length - 1 }))));
    await b.expectText(`${na}: ${many.join('')}`);
    b.assertClean();
  });

  test('5.x pings (and a pong) between fragments are answered before the message completes', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    a.write(frame(OP.TEXT, 'one ', { fin: false }));
    a.write(frame(OP.PING, 'mid1'));
    a.write(frame(OP.PONG, 'unsolicited'));
    a.write(frame(OP.CONT, 'two ', { fin: false }));
    a.write(frame(OP.PING, 'mid2'));
    let e = await a.nextEvent();
    assert.equal(e.opcode, OP.PONG); assert.equal(e.payload.toString(), 'mid1');
    e = await a.nextEvent();
    assert.equal(e.opcode, OP.PONG); assert.equal(e.payload.toString(), 'mid2');
    a.write(frame(OP.CONT, 'three'));
    await b.expectText(`${na}: one two three`);
    a.assertClean(); b.assertClean();
  });

  test('5.x JOIN itself fragmented', T, async () => {
    const { c } = await rawOpen(srv); track(c);
    const g = fresh('fj');
    const n = freshName('n');
    c.write(frame(OP.TEXT, 'JO', { fin: false }));
    c.write(frame(OP.CONT, `IN ${g}`, { fin: false }));
    c.write(frame(OP.CONT, ` ${n}`));
    await c.expectText(`* you joined ${g} as ${n} (1 online)`);
  });

  for (const [label, frames] of [
    ['orphan continuation fin=1', () => [frame(OP.CONT, 'orphan')]],
    ['orphan continuation fin=0', () => [frame(OP.CONT, 'orphan', { fin: false })]],
    ['new text frame while a fragmented message is open', () => [frame(OP.TEXT, 'open', { fin: false }), frame(OP.TEXT, 'again')]],
    ['continuation after a complete fragmented message', () => [frame(OP.TEXT, 'x', { fin: false }), frame(OP.CONT, 'y'), frame(OP.CONT, 'z')]],
    ['fragmented ping', () => [frame(OP.PING, 'pi', { fin: false }), frame(OP.CONT, 'ng')]],
    ['fragmented pong', () => [frame(OP.PONG, 'po', { fin: false }), frame(OP.CONT, 'ng')]],
    ['binary fragment inside a text message', () => [frame(OP.TEXT, 'x', { fin: false }), frame(OP.BINARY, 'y')]],
  ]) {
    test(`5.x ${label} → 1002`, T, async () => {
      const c = track(await rawJoin(srv, fresh('frag'), freshName('a')));
      c.write(Buffer.concat(frames()));
      const cl = await c.nextClose();
      assert.equal(cl.code, 1002, `close ${cl.code} ${JSON.stringify(cl.reason)}; ${c.describe()}`);
      c.assertClean();
    });
  }
});

describe('(b) 6.x UTF-8', () => {
  const valid = [
    ['κόσμε', Buffer.from('κόσμε')],
    ['U+0080 / U+07FF / U+0800 / U+FFFF / U+10000 / U+10FFFF boundaries',
      Buffer.from('c280dfbfe0a080efbfbff0908080f48fbfbf', 'hex')],
    ['U+FFFE and U+FEFF (non-characters are valid)', Buffer.from('efbfbeefbbbf', 'hex')],
  ];
  for (const [label, bytes] of valid) {
    test(`6.x valid ${label} delivered intact`, T, async () => {
      const { a, b, na } = await rawPair(srv); track(a); track(b);
      a.write(frame(OP.TEXT, bytes));
      const e = await b.nextEvent();
      assert.equal(e.opcode, OP.TEXT);
      assert.equal(hex(e.payload, 200), hex(Buffer.concat([Buffer.from(`${na}: `), bytes]), 200));
      b.assertClean();
    });
  }

  test('6.x a 4-byte char split across fragments (and byte by byte)', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    const smile = Buffer.from('f09f9880', 'hex');
    a.write(frame(OP.TEXT, Buffer.concat([Buffer.from('x'), smile.subarray(0, 2)]), { fin: false }));
    a.write(frame(OP.CONT, Buffer.concat([smile.subarray(2), Buffer.from('y')])));
    await b.expectText(`${na}: x😀y`);
    const s = Buffer.from('κόσμε😀', 'utf8');
    a.write(Buffer.concat([...s].map((byte, i) => frame(i === 0 ? OP.TEXT : OP.CONT, Buffer.from([byte]), { fin: i === s.length - 1 }))));
    await b.expectText(`${na}: κόσμε😀`);
    b.assertClean();
  });

  const invalid = [
    ['0xff byte', 'ceba e1bd b9cf 83ce bcce b5 ff'],
    ['lone continuation byte 0x80', '61 80 62'],
    ['overlong 2-byte NUL (c0 80)', 'c080'],
    ['overlong 3-byte (e0 80 af)', 'e080af'],
    ['UTF-16 surrogate (ed a0 80)', 'eda080'],
    ['above U+10FFFF (f4 90 80 80)', 'f4908080'],
    ['f5 lead byte', 'f5808080'],
    ['c1 lead byte (overlong)', 'c1bf'],
    ['overlong 4-byte (f0 80 80 80)', 'f0808080'],
    ['valid text then an invalid byte at the very end', 'cebae1bdb9cf83cebccebd ed a080 80'],
    ['truncated 4-byte sequence at message end', '78 f09f98'],
    ['truncated 2-byte sequence at message end', '78 ce'],
  ];
  for (const [label, h] of invalid) {
    test(`6.x invalid UTF-8: ${label} → 1007`, T, async () => {
      const c = track(await rawJoin(srv, fresh('u8'), freshName('a')));
      c.write(frame(OP.TEXT, Buffer.from(h.replace(/ /g, ''), 'hex')));
      await c.expectClose(1007);
    });
  }

  test('6.x invalid UTF-8 in a first fragment fails fast (before fin)', T, async () => {
    const c = track(await rawJoin(srv, fresh('u8'), freshName('a')));
    c.write(frame(OP.TEXT, Buffer.from('6162ff', 'hex'), { fin: false }));
    await c.expectClose(1007);
  });

  test('6.x invalid sequence split across fragments → 1007', T, async () => {
    const c = track(await rawJoin(srv, fresh('u8'), freshName('a')));
    c.write(frame(OP.TEXT, Buffer.from('61f0', 'hex'), { fin: false }));
    c.write(frame(OP.CONT, Buffer.from('28', 'hex'), { fin: false }));  // f0 28: not a continuation
    await c.expectClose(1007);
  });

  test('6.x truncated sequence at the end of a fragmented message → 1007', T, async () => {
    const c = track(await rawJoin(srv, fresh('u8'), freshName('a')));
    c.write(frame(OP.TEXT, Buffer.from('61', 'hex'), { fin: false }));
    c.write(frame(OP.CONT, Buffer.from('e282', 'hex')));  // € cut short
    await c.expectClose(1007);
  });
});

describe('(b) 7.x close', () => {
  test('7.x close 1000 with reason is echoed, then TCP closes; data after close ignored', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    const seen = a.frames.length;
    a.write(Buffer.concat([frame(OP.CLOSE, closePayload(1000, 'bye now')), frame(OP.TEXT, 'after close'), frame(OP.PING, 'x')]));
    const cl = await a.nextClose();
    assert.equal(cl.code, 1000);
    await a.expectTcpEnd();
    // No pong and no text after the close frame.
    assert.deepEqual(a.frames.slice(seen).map(fmtFrame), [fmtFrame(cl.frame)]);
    await b.expectText(`* ${na} has left`);
    a.assertClean();
  });

  test('7.x close with no payload → close (empty or 1000), TCP closes', T, async () => {
    const c = track(await rawJoin(srv, fresh('cl'), freshName('a')));
    c.write(frame(OP.CLOSE, ''));
    const cl = await c.nextClose();
    assert.ok(cl.code === null || cl.code === 1000, `close code ${cl.code}`);
    await c.expectTcpEnd();
    c.assertClean();
  });

  test('7.x close in the middle of a fragmented message is echoed', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    a.write(frame(OP.TEXT, 'half', { fin: false }));
    a.write(frame(OP.CLOSE, closePayload(1000)));
    assert.equal((await a.nextClose()).code, 1000);
    await a.expectTcpEnd();
    await b.expectText(`* ${na} has left`);
    a.assertClean(); b.assertClean();
  });

  test('7.x client drops TCP without a close → others see * a has left', T, async () => {
    const { a, b, na } = await rawPair(srv); track(b);
    a.sendText('last');
    await b.expectText(`${na}: last`);
    a.sock.resetAndDestroy();
    await b.expectText(`* ${na} has left`);
    b.assertClean();
  });

  test('7.x close before JOIN is echoed', T, async () => {
    const { c } = await rawOpen(srv); track(c);
    c.write(frame(OP.CLOSE, closePayload(1001)));
    assert.equal((await c.nextClose()).code, 1001);
    await c.expectTcpEnd();
  });

  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
    test(`7.x valid close code ${code} is echoed`, T, async () => {
      const c = track(await rawJoin(srv, fresh('cc'), freshName('a')));
      c.write(frame(OP.CLOSE, closePayload(code, 'r')));
      const cl = await c.nextClose();
      assert.equal(cl.code, code, c.describe());
      await c.expectTcpEnd();
      c.assertClean();
    });
  }

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    test(`7.x invalid close code ${code} → 1002`, T, async () => {
      const c = track(await rawJoin(srv, fresh('ic'), freshName('a')));
      c.write(frame(OP.CLOSE, closePayload(code)));
      const cl = await c.nextClose();
      assert.equal(cl.code, 1002, c.describe());
      await c.expectTcpEnd();
      c.assertClean();
    });
  }

  test('7.x 1-byte close payload → 1002', T, async () => {
    const c = track(await rawJoin(srv, fresh('ic'), freshName('a')));
    c.write(frame(OP.CLOSE, Buffer.from([0x03])));
    await c.expectClose(1002);
  });

  test('7.x close reason with invalid UTF-8 → 1007 (invalid payload data)', T, async () => {
    const c = track(await rawJoin(srv, fresh('ic'), freshName('a')));
    c.write(frame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.from('cebae1bdb9cf83cebccebdeda080', 'hex')])));
    await c.expectClose(1007);
  });

  test('7.x close with a 123-byte reason (125-byte payload) is echoed; 124-byte reason → 1002', T, async () => {
    const c = track(await rawJoin(srv, fresh('cr'), freshName('a')));
    c.write(frame(OP.CLOSE, closePayload(1000, 'r'.repeat(123))));
    assert.equal((await c.nextClose()).code, 1000);
    await c.expectTcpEnd();
    const d = track(await rawJoin(srv, fresh('cr'), freshName('a')));
    d.write(frame(OP.CLOSE, closePayload(1000, 'r'.repeat(124))));
    await d.expectClose(1002);
  });

  test('7.x after a server-initiated close, TCP is closed even if the client never answers', T, async () => {
    const c = track(await rawJoin(srv, fresh('to'), freshName('a')));
    c.write(frame(OP.BINARY, 'x'));
    await c.expectClose(1003, { answer: false });
    await c.expectTcpEnd(5000);
  });
});

describe('(b) 9.x limits and masking', () => {
  test('9.x a header announcing more than --max_line_bytes → 1009 at once (no payload sent)', T, async () => {
    const c = track(await rawJoin(srv, fresh('big'), freshName('a')));
    c.write(frame(OP.TEXT, '', { len: 100000 }).subarray(0, 2 + 8 + 4));
    const cl = await c.nextClose();
    assert.equal(cl.code, 1009, c.describe());
    c.assertClean();
  });

  test('9.x 4097 bytes over fragments → ERROR line too long + 1009', T, async () => {
    const c = track(await rawJoin(srv, fresh('big'), freshName('a')));
    c.write(frame(OP.TEXT, 'x'.repeat(4000), { fin: false }));
    c.write(frame(OP.CONT, 'x'.repeat(97)));
    const cl = await c.nextClose();
    assert.equal(cl.code, 1009, c.describe());
    assert.deepEqual(cl.texts, ['ERROR line too long']);
    c.assertClean();
  });

  test('9.x exactly 4096 bytes in fragments is delivered', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    a.write(frame(OP.TEXT, 'x'.repeat(4000), { fin: false }));
    a.write(frame(OP.CONT, 'x'.repeat(96)));
    await b.expectText(`${na}: ${'x'.repeat(4096)}`);
  });

  test('9.x 65536-byte messages at --max_line_bytes=70000, 20 in a row, in order', T, async () => {
    const { a, b, na } = await rawPair(big); track(a); track(b);
    for (let i = 0; i < 20; i++) a.sendText(String(i).padStart(2, '0') + 'z'.repeat(65534));
    for (let i = 0; i < 20; i++) {
      const m = await b.nextText(5000);
      assert.equal(m.length, na.length + 2 + 65536);
      assert.equal(m.slice(0, na.length + 4), `${na}: ${String(i).padStart(2, '0')}`);
    }
    b.assertClean();
  });

  test('9.x 64-bit length with the top bit set → 1002 or 1009', T, async () => {
    const c = track(await rawJoin(srv, fresh('big'), freshName('a')));
    const h = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4]);
    c.write(h);
    const cl = await c.nextClose();
    assert.ok([1002, 1009].includes(cl.code), `close ${cl.code}; ${c.describe()}`);
  });

  test('9.x binary frame before JOIN → 1003', T, async () => {
    const { c } = await rawOpen(srv); track(c);
    c.write(frame(OP.BINARY, 'JOIN x y'));
    await c.expectClose(1003);
  });

  test('9.x a continuation header that pushes the message over the limit → 1009 before its payload', T, async () => {
    const c = track(await rawJoin(srv, fresh('big'), freshName('a')));
    c.write(frame(OP.TEXT, 'x'.repeat(4000), { fin: false }));
    c.write(frame(OP.CONT, '', { len: 200 }).subarray(0, 2 + 2 + 4));
    const cl = await c.nextClose();
    assert.equal(cl.code, 1009, c.describe());
  });

  test('2.x 2000 pings in one write → 2000 pongs in order', T, async () => {
    const c = track(await rawJoin(srv, fresh('flood'), freshName('a')));
    const n = 2000;
    c.write(Buffer.concat(Array.from({ length: n }, (_, i) => frame(OP.PING, `${i}`.padStart(100, '.')))));
    for (let i = 0; i < n; i++) {
      const e = await c.nextEvent(5000, `pong ${i}`);
      assert.equal(e.opcode, OP.PONG, fmtFrame(e));
      assert.equal(e.payload.toString(), `${i}`.padStart(100, '.'));
    }
    c.assertClean();
  });

  test('9.x the limit counts bytes: 4096 bytes of 2-byte chars delivered, 4097 bytes → 1009', T, async () => {
    const { a, b, na } = await rawPair(srv); track(a); track(b);
    a.sendText('é'.repeat(2048));
    await b.expectText(`${na}: ${'é'.repeat(2048)}`);
    a.sendText('é'.repeat(2048) + 'x');
    const cl = await a.nextClose();
    assert.equal(cl.code, 1009, a.describe());
    assert.deepEqual(cl.texts, ['ERROR line too long']);
    await b.expectText(`* ${na} has left`);
  });

  test('unmasked client text frame → 1002', T, async () => {
    const c = track(await rawJoin(srv, fresh('um'), freshName('a')));
    c.write(frame(OP.TEXT, 'no mask', { mask: false }));
    await c.expectClose(1002);
  });

  test('unmasked client ping → 1002', T, async () => {
    const c = track(await rawJoin(srv, fresh('um'), freshName('a')));
    c.write(frame(OP.PING, 'no mask', { mask: false }));
    await c.expectClose(1002);
  });

  test('unmasked first frame (JOIN) → 1002', T, async () => {
    const { c } = await rawOpen(srv); track(c);
    c.write(frame(OP.TEXT, `JOIN ${fresh('um')} a`, { mask: false }));
    const cl = await c.nextClose();
    assert.equal(cl.code, 1002, c.describe());
  });
});

describe('(b) chat semantics over raw frames', () => {
  test('first message not JOIN → ERROR + 1008; /quit → * bye + 1000', T, async () => {
    const { c } = await rawOpen(srv); track(c);
    c.sendText('JOIN  two spaces');
    const cl = await c.nextClose();
    assert.deepEqual(cl.texts, ['ERROR expected JOIN <group> <name>']);
    assert.equal(cl.code, 1008);
    const d = track(await rawJoin(srv, fresh('q'), freshName('a')));
    d.sendText('/quit');
    await d.expectClose(1000, { texts: ['* bye'] });
  });
});

describe('(a2) interop and load', () => {
  test('invalid UTF-8 from a TCP member never reaches ws members as invalid text', T, async () => {
    const g = fresh('bad8');
    const [nw, nr, nt] = [freshName('w'), freshName('r'), freshName('t')];
    const w = track(await wsJoin(srv, g, nw, 1));
    const r = track(await rawJoin(srv, g, nr));
    await w.expect(`* ${nr} has joined`);
    const t = track(await LineClient.connect(srv.port));
    t.send(`JOIN ${g} ${nt}`);
    await t.expect(`* you joined ${g} as ${nt} (3 online)`);
    await w.expect(`* ${nt} has joined`);
    await r.expectText(`* ${nt} has joined`);
    t.sock.write(Buffer.from('6f6b20ff fe 20 c0af 20 eda080 0a'.replace(/ /g, ''), 'hex'));
    t.send('after');
    // The raw parser records invalid UTF-8 text frames as violations; the
    // strict ws client fails the connection (1007/1006) on them.
    for (;;) { const m = await r.nextText(); if (m === `${nt}: after`) break; }
    r.assertClean();
    const got = [];
    try {
      for (;;) { const m = await w.next(); got.push(m); if (m === `${nt}: after`) break; }
    } catch (e) {
      throw new Error(`ws client failed after ${JSON.stringify(got)}: ${e.message}; errors ${w.errors.map(String)}`);
    }
    w.assertClean();
  });

  test('40 ws clients in one group, 25 messages each, every member gets all in order', T, async () => {
    const g = fresh('crowd');
    const u = freshName('u');  // Members ${u}_0 .. ${u}_39.
    const n = 40, per = 25;
    const cs = [];
    for (let i = 0; i < n; i++) cs.push(track(await wsJoin(srv, g, `${u}_${i}`, i + 1)));
    // Drain the join notices: member i sees the joins of i+1..n-1.
    await Promise.all(cs.map(async (c, i) => { for (let j = i + 1; j < n; j++) await c.expect(`* ${u}_${j} has joined`, 5000); }));
    for (let k = 0; k < per; k++) for (let i = 0; i < n; i++) cs[i].send(`m ${k}`);
    await Promise.all(cs.map(async (c, i) => {
      const next = new Array(n).fill(0);
      for (let x = 0; x < (n - 1) * per; x++) {
        const m = await c.next(8000);
        const mm = new RegExp(`^${u}_(\\d+): m (\\d+)$`).exec(m);
        assert.ok(mm, `u${i} got ${JSON.stringify(m)}`);
        const from = +mm[1];
        assert.notEqual(from, i, 'echo to sender');
        assert.equal(+mm[2], next[from]++, `u${i}: order from u${from}`);
      }
    }));
    for (const c of cs) c.assertClean();
    for (const c of cs) c.ws.close(1000);
  });
});

describe('(a3) rate-limited server: held messages resume in order', () => {
  let rs;
  before(async () => { rs = await startServer(['--max_msgs_per_sec=20', '--max_burst=5']); });
  after(async () => { await stopServer(rs); });

  test('30 ws messages then /quit behind them: all delivered in order, then * bye + 1000', T, async () => {
    const g = fresh('rate');
    const [na, nb] = [freshName('a'), freshName('b')];
    const a = track(await wsJoin(rs, g, na, 1));
    const b = track(await wsJoin(rs, g, nb, 2));
    await a.expect(`* ${nb} has joined`);
    for (let i = 0; i < 30; i++) a.send(`r ${i}`);
    a.send('/quit');
    for (let i = 0; i < 30; i++) await b.expect(`${na}: r ${i}`, 5000);
    await a.expect('* bye', 5000);
    assert.equal((await a.closeInfo()).code, 1000);
    await b.expect(`* ${na} has left`);
    a.assertClean(); b.assertClean();
  });

  test('raw: fragmented and pipelined messages under the rate limit keep order', T, async () => {
    const { a, b, na } = await rawPair(rs); track(a); track(b);
    const bytes = [];
    for (let i = 0; i < 15; i++) {
      bytes.push(frame(OP.TEXT, `f${i}-`, { fin: false }), frame(OP.PING, `p${i}`), frame(OP.CONT, 'end'));
    }
    a.write(Buffer.concat(bytes));
    for (let i = 0; i < 15; i++) await b.expectText(`${na}: f${i}-end`, 5000);
    a.assertClean(); b.assertClean();
  });
});

describe('(c) beyond the written contract', () => {
  test('a ws member that stops reading is dropped cleanly (valid frames up to a close); the others go on', T, async () => {
    const s2 = await startServer(['--max_output_bytes=65536']);
    try {
      const g = fresh('slow');
      const [na, nslow, nt] = [freshName('a'), freshName('slow'), freshName('t')];
      const a = await rawJoin(s2, g, na);
      const slow = await rawJoin(s2, g, nslow);
      const t = await LineClient.connect(s2.port);
      t.send(`JOIN ${g} ${nt}`);
      await t.expect(`* you joined ${g} as ${nt} (3 online)`);
      await a.expectText(`* ${nslow} has joined`);
      await a.expectText(`* ${nt} has joined`);
      slow.sock.pause();
      const line = 'q'.repeat(1000);
      // Loopback socket buffers absorb several MB before the server queues.
      let left = false, got = 0, sent = 0;
      const deadline = Date.now() + 10000;
      const reader = (async () => {
        while (!left && Date.now() < deadline) {
          const l = await t.next(Math.max(1, deadline - Date.now()));
          if (l === `* ${nslow} has left`) left = true; else got++;
        }
      })().catch((e) => e);
      while (!left && Date.now() < deadline && sent < 40000) {
        a.sendText(`${sent++} ${line}`);
        if (sent % 100 === 0) await sleep(2);
      }
      const r = await reader;
      assert.ok(left, `slow member never dropped (a sent ${sent} 1 KB messages, t got ${got}): ${r}`);
      slow.sock.resume();
      // What slow got must be whole frames, ending in a close or TCP end.
      let end = 'tcp end';
      try {
        for (;;) {
          const e = await slow.nextEvent(4000, 'frames of the slow member');
          if (e.opcode === OP.CLOSE) { end = fmtFrame(e); break; }
        }
      } catch (e) { if (!slow.ended) throw e; }
      const texts = slow.frames.filter((f) => f.opcode === OP.TEXT).map((f) => f.payload.toString());
      console.log(`# slow member: ${texts.length} texts, last ${JSON.stringify((texts.at(-1) ?? '').slice(0, 40))}, then ${end}, unparsed ${slow.buf.length} bytes`);
      assert.equal(slow.buf.length, 0, `a partial frame was left: ${hex(slow.buf)}`);
      slow.assertClean();
      a.sendText('after');
      for (;;) { const l = await t.next(); if (l === `${na}: after`) break; }
      a.destroy(); slow.destroy(); t.destroy();
    } finally { await stopServer(s2); }
  });

  test('a ws message containing a newline cannot forge extra lines for TCP members', T, async () => {
    const g = fresh('nl');
    const [na, nt] = [freshName('a'), freshName('t')];
    const a = track(await rawJoin(srv, g, na));
    const t = track(await LineClient.connect(srv.port));
    t.send(`JOIN ${g} ${nt}`);
    await t.expect(`* you joined ${g} as ${nt} (2 online)`);
    await a.expectText(`* ${nt} has joined`);
    a.sendText('hi\n* mallory has joined');
    a.sendText('marker');
    // Either refused (a closed, t sees a leave) or delivered without splitting.
    const lines = [];
    for (;;) {
      const l = await t.next();
      lines.push(l);
      if (l === `${na}: marker` || l === `* ${na} has left`) break;
    }
    let sender = 'still open';
    if (lines.includes(`* ${na} has left`)) { try { const cl = await a.nextClose(); sender = `closed ${cl.code} ${JSON.stringify(cl.reason)} after texts ${JSON.stringify(cl.texts)}`; } catch (e) { sender = e.message; } }
    console.log(`# newline message: TCP member saw ${JSON.stringify(lines)}; ws sender: ${sender}`);
    assert.ok(!lines.includes('* mallory has joined'), `TCP member saw a forged line: ${JSON.stringify(lines)}`);
  });

  test('a client that keeps talking (never answering pings) is not dropped by the ping timer', T, async () => {
    const s2 = await startServer(['--ws_ping_interval_s=1']);
    try {
      const g = fresh('talk');
      const [na, nt] = [freshName('a'), freshName('t')];
      const a = await rawJoin(s2, g, na);
      const t = await LineClient.connect(s2.port);  // TCP: never pinged
      t.send(`JOIN ${g} ${nt}`);
      await t.expect(`* you joined ${g} as ${nt} (2 online)`);
      for (let i = 0; i < 10; i++) { a.sendText(`talk ${i}`); await sleep(400); }
      for (let i = 0; i < 10; i++) {
        const m = await t.next();
        if (m !== `${na}: talk ${i}`) throw new Error(`t got ${JSON.stringify(m)}; a: ${a.describe()}`);
      }
      assert.ok(!a.ended, `a was closed: ${a.describe()}`);
      a.destroy(); t.destroy();
    } finally { await stopServer(s2); }
  });
});

describe('server pings', () => {
  let ps;
  before(async () => { ps = await startServer(['--ws_ping_interval_s=1']); });
  after(async () => { await stopServer(ps); });

  test('server pings a silent client, a pong keeps it; no pong → closed', T, async () => {
    const g = fresh('ka');
    const [na, nb, nt] = [freshName('a'), freshName('b'), freshName('t')];
    const a = track(await rawJoin(ps, g, na));
    const b = track(await rawJoin(ps, g, nb));
    await a.expectText(`* ${nb} has joined`);
    const t = track(await LineClient.connect(ps.port));
    t.send(`JOIN ${g} ${nt}`);
    await t.expect(`* you joined ${g} as ${nt} (3 online)`);
    // a answers every ping for 4 s; b answers none.
    const answerPings = async () => {
      const until = Date.now() + 4000;
      let pings = 0;
      const texts = [];
      while (Date.now() < until) {
        let e;
        try { e = await a.nextEvent(until - Date.now(), 'server ping'); } catch (err) {
          if (a.ended) throw err; break;
        }
        if (e.opcode === OP.PING) { pings++; a.write(frame(OP.PONG, e.payload)); }
        else if (e.opcode === OP.CLOSE) throw new Error(`a was closed although it answered pings: ${fmtFrame(e)}; ${a.describe()}`);
        else if (e.opcode === OP.TEXT) texts.push(e.payload.toString());
      }
      return { pings, texts };
    };
    const silent = async () => {
      const deadline = Date.now() + 6000;
      let sawPing = false;
      while (Date.now() < deadline) {
        let e;
        try { e = await b.nextEvent(Math.max(1, deadline - Date.now()), 'ping or close'); } catch (err) {
          if (b.ended) return { sawPing, closed: 'tcp closed without close frame' };
          throw err;
        }
        if (e.opcode === OP.PING) sawPing = true;
        if (e.opcode === OP.CLOSE) return { sawPing, closed: fmtFrame(e) };
      }
      return { sawPing, closed: null };
    };
    const t0 = Date.now();
    const [ra, rb] = await Promise.all([answerPings(), silent()]);
    assert.ok(ra.pings >= 2, `a got ${ra.pings} pings in 4 s at --ws_ping_interval_s=1`);
    assert.ok(rb.sawPing, `no server ping to silent b; ${b.describe()}`);
    assert.ok(rb.closed, `b not closed within 6 s of not answering pings; ${b.describe()}`);
    b.assertClean();
    a.sendText('alive');
    await t.expect(`* ${nb} has left`);
    await t.expect(`${na}: alive`);
    a.assertClean();
    assert.ok(Date.now() - t0 < 8000);
  });

  test('npm ws client (auto pong) stays connected across several intervals', T, async () => {
    const g = fresh('keep');
    const [na, nb] = [freshName('a'), freshName('b')];
    const a = track(await wsJoin(ps, g, na, 1));
    const b = track(await wsJoin(ps, g, nb, 2));
    await a.expect(`* ${nb} has joined`);
    await sleep(3500);
    assert.ok(a.pings.length >= 1, 'ws client was never pinged');
    a.send('still alive');
    await b.expect(`${na}: still alive`);
    a.assertClean(); b.assertClean();
  });
});

describe('server shutdown', () => {
  test('SIGTERM → * server shutting down + close 1001 to ws clients', T, async () => {
    const s = await startServer();
    const g = fresh('bye');
    const [na, nr] = [freshName('a'), freshName('r')];
    const a = await wsJoin(s, g, na, 1);
    const r = await rawJoin(s, g, nr);
    await a.expect(`* ${nr} has joined`);
    s.proc.kill('SIGTERM');
    await a.expect('* server shutting down');
    assert.equal((await a.closeInfo(4000)).code, 1001);
    const cl = await r.nextClose(4000);
    assert.deepEqual(cl.texts, ['* server shutting down']);
    assert.equal(cl.code, 1001);
    r.write(frame(OP.CLOSE, closePayload(1001)));
    const ex = await withTimeout(s.exitPromise, 5000, 'chatd exit');
    assert.equal(ex.code, 0, `exit ${JSON.stringify(ex)}`);
    a.assertClean(); r.assertClean();
    r.destroy();
  });
});
