// End-to-end test of chatd's web page: the real chatd binary, two headless
// Chromium users over http:// (alice and bob, one browser context each) and
// one raw TCP user (carol), all in one group; then an https:// page (erin,
// whose WebSocket must be wss://) and a TLS line client (frank) join them,
// and all four kinds see each other's messages, joins and leaves.
//
// Run by browser_test.sh (Bazel: //tests/web:browser_test); by hand:
//   CHATD_BINARY=bazel-bin/server/chatd DEV_CERT=tools/dev-cert.sh \
//     node --test tests/web/browser_test.mjs
// Env: CHATD_BINARY (required), DEV_CERT (tools/dev-cert.sh, required),
// CHROMIUM (default /usr/bin/chromium), CHATD_SCREENSHOT=path: also save a
// README screenshot there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import puppeteer from 'puppeteer-core';

const CHATD = process.env.CHATD_BINARY;
const DEV_CERT = process.env.DEV_CERT;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.CHATD_SCREENSHOT || '';
const WAIT_MS = 5000;      // any single expected event
const RECONNECT_MS = 15000; // pages back after a server restart (backoff)
const GROUP = 'lobby';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Rejects after `ms` with `what` in the message, so nothing waits forever.
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- chatd ---

// Makes a CA and a server certificate with tools/dev-cert.sh, as users do.
async function makeCert() {
  assert.ok(DEV_CERT, 'DEV_CERT must name tools/dev-cert.sh');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'chatd-cert-'));
  await withTimeout(new Promise((resolve, reject) => {
    execFile('bash', [DEV_CERT, dir], (err, stdout, stderr) =>
      (err ? reject(new Error(`dev-cert.sh: ${err.message}\n${stderr}`)) : resolve()));
  }), 10000, 'dev-cert.sh');
  const ca = await fs.readFile(path.join(dir, 'ca.pem'), 'utf8');
  // Chromium's --ignore-certificate-errors-spki-list takes base64 SHA-256
  // hashes of SubjectPublicKeyInfo; the CA's accepts exactly the chains it
  // signed, where --ignore-certificate-errors would accept any.
  const spki = new crypto.X509Certificate(ca).publicKey.export({ type: 'spki', format: 'der' });
  return {
    dir, ca,
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    caSpkiHash: crypto.createHash('sha256').update(spki).digest('base64'),
  };
}

class Chatd {
  constructor(proc, dir, ports) {
    this.proc = proc;
    this.dir = dir;
    Object.assign(this, ports);
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
      else proc.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  // Starts chatd with TLS (`cert` from makeCert()) and waits for its port
  // files.
  static async start({ cert, httpPort = 0, httpsPort = 0 }) {
    assert.ok(CHATD, 'CHATD_BINARY must name the chatd binary');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'chatd-web-'));
    const files = {
      port: path.join(dir, 'port'), httpPort: path.join(dir, 'http_port'),
      tlsPort: path.join(dir, 'tls_port'), httpsPort: path.join(dir, 'https_port'),
    };
    const args = [
      '--bind=127.0.0.1', '--port=0', `--port_file=${files.port}`,
      `--http_port=${httpPort}`, `--http_port_file=${files.httpPort}`,
      `--tls_cert=${cert.cert}`, `--tls_key=${cert.key}`,
      '--tls_port=0', `--tls_port_file=${files.tlsPort}`,
      `--https_port=${httpsPort}`, `--https_port_file=${files.httpsPort}`,
      '--irc_port=-1', '--ircs_port=-1', '--threads=2', '--max_msgs_per_sec=0',
    ];
    const proc = spawn(CHATD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const keep = (chunk) => { out.push(chunk.toString()); if (out.length > 200) out.shift(); };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    let exitInfo = null;
    proc.once('exit', (code, signal) => { exitInfo = { code, signal }; });
    proc.once('error', (err) => { exitInfo = { code: -1, signal: String(err) }; });

    const readPort = async (file) => {
      try {
        const text = await fs.readFile(file, 'utf8');
        const n = Number.parseInt(text, 10);
        return Number.isInteger(n) && n > 0 ? n : 0;
      } catch { return 0; }
    };
    const deadline = Date.now() + 10000;
    const ports = {};
    const names = Object.keys(files);
    while (Date.now() < deadline) {
      for (const name of names) ports[name] = ports[name] || await readPort(files[name]);
      if (names.every((name) => ports[name])) break;
      if (exitInfo) break;
      await sleep(25);
    }
    if (!names.every((name) => ports[name])) {
      proc.kill('SIGKILL');
      throw new Error(`chatd ${args.join(' ')} did not write its port files ` +
                      `(got ${JSON.stringify(ports)}, exit: ${JSON.stringify(exitInfo)}); output:\n${out.join('')}`);
    }
    if (httpPort) assert.equal(ports.httpPort, httpPort, 'chatd must listen on the --http_port it was given');
    if (httpsPort) assert.equal(ports.httpsPort, httpsPort, 'chatd must listen on the --https_port it was given');
    const server = new Chatd(proc, dir, ports);
    server.output = out;
    return server;
  }

  get url() { return `http://127.0.0.1:${this.httpPort}`; }

  get httpsUrl() { return `https://127.0.0.1:${this.httpsPort}`; }

  // SIGTERM, then the exit status (SIGKILL if it takes more than 5 s).
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    try {
      return await withTimeout(this.exited, 5000, 'chatd exiting after SIGTERM');
    } catch (e) {
      this.proc.kill('SIGKILL');
      throw e;
    } finally {
      await fs.rm(this.dir, { recursive: true, force: true });
    }
  }

  kill() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

// ----------------------------------------------------------- TCP client ---

class LineClient {
  static connect(port) {
    return withTimeout(new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port }, () => resolve(new LineClient(sock)));
      sock.once('error', reject);
    }), WAIT_MS, `TCP connect to ${port}`);
  }

  // The line protocol over TLS, verifying chatd's chain against `ca` and
  // the name localhost, the way a client of a real deployment would.
  static connectTls(port, ca) {
    return withTimeout(new Promise((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' },
        () => resolve(new LineClient(sock)));
      sock.once('error', reject);
    }), WAIT_MS, `TLS connect to ${port}`);
  }

  constructor(sock) {
    this.sock = sock;
    this.lines = [];
    this.closed = false;
    this.waiters = new Set();
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      this.wake();
    });
    sock.on('error', () => {});
    sock.on('close', () => { this.closed = true; this.wake(); });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  send(line) { this.sock.write(line + '\n'); }

  // Waits until pred(lines) is true.
  until(pred, what, ms = WAIT_MS) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        if (pred(this.lines, this.closed)) { this.waiters.delete(check); resolve(); }
      };
      this.waiters.add(check);
      check();
    }), ms, `${what}; TCP client got: ${JSON.stringify(this.lines)}`);
  }

  waitLine(line, ms) { return this.until((l) => l.includes(line), `line ${JSON.stringify(line)}`, ms); }

  waitClosed(ms) { return this.until((_, closed) => closed, 'server closing the TCP connection', ms); }

  close() { this.sock.destroy(); }
}

// ---------------------------------------------------------------- pages ---

// A page in a new browser context, or in `context` if given (cheaper: a
// new context costs Chromium most of a second).
async function openPage(browser, who, url, context = null) {
  context = context || await browser.createBrowserContext();
  const page = await context.newPage();
  page.who = who;
  page.context_ = context;
  page.dialogs = [];
  page.errors = [];
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // WebSockets are not puppeteer requests; CDP reports the URLs the page
  // opens and the handshake statuses.
  page.wsUrls = [];
  page.wsStatuses = [];
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketCreated', (e) => page.wsUrls.push(e.url));
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => page.wsStatuses.push(e.response.status));
  await page.setViewport({ width: 1000, height: 700 });
  await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  return page;
}

// The conversation as [{cls, text}], text being the line as chatd sent it.
function logOf(page) {
  return page.$$eval('#log li', (lis) => lis.map((li) => ({
    cls: li.className,
    text: li.querySelector('.body').textContent,
    time: li.querySelector('time') ? li.querySelector('time').textContent : '',
  })));
}

function membersOf(page) {
  return page.$$eval('#members li', (lis) => lis.map((li) => li.textContent));
}

// Waits for page-side predicate fn(...args); on timeout says what the page shows.
async function waitPage(page, what, fn, args = [], ms = WAIT_MS) {
  try {
    await page.waitForFunction(fn, { timeout: ms, polling: 50 }, ...args);
  } catch (e) {
    let state = '';
    try {
      state = `\n  status: ${await page.$eval('#status', (s) => `${s.dataset.state} "${s.textContent}"`)}` +
              `\n  members: ${JSON.stringify(await membersOf(page))}` +
              `\n  log: ${JSON.stringify((await logOf(page)).map((l) => `[${l.cls}] ${l.text}`), null, 1)}`;
    } catch { /* page gone */ }
    throw new Error(`${page.who}: timed out after ${ms} ms waiting for ${what}${state}`);
  }
}

// Waits for a log entry with exactly this text (and class, if given).
function waitLog(page, text, cls = '', ms = WAIT_MS, count = 1) {
  return waitPage(page, `log entry ${JSON.stringify(text)}${cls ? ` .${cls}` : ''}${count > 1 ? ` x${count}` : ''}`,
    (text, cls, count) => [...document.querySelectorAll('#log li')].filter((li) =>
      li.querySelector('.body').textContent === text && (!cls || li.classList.contains(cls))).length >= count,
    [text, cls, count], ms);
}

function waitMembers(page, names, ms = WAIT_MS) {
  const want = [...names].sort();
  return waitPage(page, `members ${JSON.stringify(want)}`,
    (want) => JSON.stringify([...document.querySelectorAll('#members li')].map((li) => li.textContent).sort()) ===
              JSON.stringify(want),
    [want], ms);
}

function waitState(page, state, ms = WAIT_MS) {
  return waitPage(page, `#status[data-state=${state}]`,
    (state) => document.querySelector('#status').dataset.state === state, [state], ms);
}

// Types a line into #msg and presses Enter.
async function say(page, text) {
  await waitPage(page, 'an enabled #msg', () => !document.querySelector('#msg').disabled);
  await page.focus('#msg');
  await page.keyboard.type(text, { delay: 0 });
  await page.keyboard.press('Enter');
  await waitPage(page, '#msg emptied after Enter', () => document.querySelector('#msg').value === '');
}

function joinedLine(name, n) { return `* you joined ${GROUP} as ${name} (${n} online)`; }

// GET over https with node:https, verifying the chain against `ca`, and
// offering h2 first: chatd must pick http/1.1.
function httpsGet(url, ca) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = https.get(url, { ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'], agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({
          status: res.statusCode, headers: res.headers, body,
          alpn: res.socket.alpnProtocol, tlsVersion: res.socket.getProtocol(),
        }));
      });
    req.on('error', reject);
  }), WAIT_MS, `GET ${url}`);
}

// ----------------------------------------------------------------- test ---

test('chatd web page: http and https browsers, TCP and TLS clients chat in one group', { timeout: 60000 }, async (t) => {
  let server = null;
  let server2 = null;
  let browser = null;
  let profile = '';
  let cert = null;
  const tcp = [];
  const pages = [];
  // Each step needs the state the ones before it left: after a failure the
  // rest are skipped, so the first error is the one reported.
  let failed = '';
  const step = (name, fn) => t.test(name, { skip: failed ? `after the failure of "${failed}"` : false }, async () => {
    try {
      await fn();
    } catch (e) {
      failed = name;
      throw e;
    }
  });

  try {
    cert = await makeCert();
    server = await Chatd.start({ cert });

    await step('HTTP: page, health check', async () => {
      const res = await withTimeout(fetch(`${server.url}/`), WAIT_MS, 'GET /');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') || '', /^text\/html; ?charset=utf-8$/i);
      const html = await res.text();
      assert.match(html, /<ul id="log"/);
      const health = await withTimeout(fetch(`${server.url}/healthz`), WAIT_MS, 'GET /healthz');
      assert.equal(health.status, 200);
      assert.equal((await health.text()).trim(), 'ok');
    });

    await step('HTTPS: page, health check, ALPN http/1.1, chain verified', async () => {
      const page = await httpsGet(`${server.httpsUrl}/`, cert.ca);
      assert.equal(page.status, 200);
      assert.equal(page.alpn, 'http/1.1', 'chatd speaks HTTP/1.1 only, and must say so in ALPN');
      assert.match(page.tlsVersion, /^TLSv1\.[23]$/);
      assert.match(page.body, /<ul id="log"/);
      const health = await httpsGet(`${server.httpsUrl}/healthz`, cert.ca);
      assert.equal(health.status, 200);
      assert.equal(health.body.trim(), 'ok');
      // Without the dev CA the chain must not verify, or the checks above
      // would pass with verification off.
      await assert.rejects(httpsGet(`${server.httpsUrl}/healthz`, undefined),
        (e) => /CERT|SIGNED|ISSUER/.test(e.code || ''), 'the dev chain is not trusted without its CA');
    });

    // Chromium puts unix sockets in $TMPDIR, and Bazel's TEST_TMPDIR is too
    // long a path for one (108 bytes at most): use /tmp when it is.
    profile = await fs.mkdtemp(path.join(os.tmpdir().length > 60 ? '/tmp' : os.tmpdir(), 'chatd-chromium-'));
    browser = await withTimeout(puppeteer.launch({
      executablePath: CHROMIUM,
      userDataDir: path.join(profile, 'profile'),
      env: { ...process.env, TMPDIR: profile },
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
        `--ignore-certificate-errors-spki-list=${cert.caSpkiHash}`],
      timeout: 20000,
    }), 25000, 'launching chromium');

    let alice, bob, carol;

    await step('alice joins from the URL, bob from the form, carol over TCP', async () => {
      alice = await openPage(browser, 'alice', `${server.url}/?group=${GROUP}&name=alice`);
      pages.push(alice);
      await waitLog(alice, joinedLine('alice', 1), 'system');
      await waitState(alice, 'open');
      await waitMembers(alice, ['alice']);

      bob = await openPage(browser, 'bob', `${server.url}/`);
      pages.push(bob);
      assert.equal(await bob.$eval('#join', (f) => !f.hidden && getComputedStyle(f).display !== 'none'), true,
        'the join form shows without ?group=&name=');
      await bob.type('#group', GROUP);
      await bob.type('#name', 'bob');
      await bob.keyboard.press('Enter');
      await waitLog(bob, joinedLine('bob', 2), 'system');
      await waitState(bob, 'open');
      assert.equal(await bob.$eval('#join', (f) => getComputedStyle(f).display), 'none', 'form hidden once joined');
      await waitLog(alice, '* bob has joined', 'system');
      await waitMembers(alice, ['alice', 'bob']);
      await waitMembers(bob, ['alice', 'bob']);

      carol = await LineClient.connect(server.port);
      tcp.push(carol);
      carol.send(`JOIN ${GROUP} carol`);
      await carol.waitLine(joinedLine('carol', 3));
      await waitLog(alice, '* carol has joined', 'system');
      await waitLog(bob, '* carol has joined', 'system');
      await waitMembers(alice, ['alice', 'bob', 'carol']);
      await waitMembers(bob, ['alice', 'bob', 'carol']);
    });

    await step('messages reach the other two; own ones are marked', async () => {
      const a = 'hi bob, are you coming to the meetup on friday?';
      await say(alice, a);
      await waitLog(alice, `alice: ${a}`, 'own');
      await waitLog(bob, `alice: ${a}`, 'msg');
      await carol.waitLine(`alice: ${a}`);

      const b = "yes! I'll bring the slides";
      await say(bob, b);
      await waitLog(bob, `bob: ${b}`, 'own');
      await waitLog(alice, `bob: ${b}`, 'msg');
      await carol.waitLine(`bob: ${b}`);

      const c = 'count me in too';
      carol.send(c);
      await waitLog(alice, `carol: ${c}`, 'msg');
      await waitLog(bob, `carol: ${c}`, 'msg');

      for (const page of [alice, bob]) {
        const log = await logOf(page);
        const mine = log.filter((l) => l.cls.split(' ').includes('own'));
        assert.ok(mine.every((l) => l.text.startsWith(`${page.who}: `)), `${page.who}: only own lines are .own`);
        assert.ok(!log.some((l) => l.cls.split(' ').includes('msg') && l.text.startsWith(`${page.who}: `)),
          `${page.who}: the server does not echo, and the page shows its own lines once`);
        assert.ok(log.every((l) => /^\d\d:\d\d:\d\d$/.test(l.time)), `${page.who}: every line has a time stamp`);
      }
      assert.ok(!carol.lines.some((l) => l.startsWith('carol: ')), 'no echo to carol');

      if (SCREENSHOT) {
        await alice.bringToFront();
        await alice.screenshot({ path: SCREENSHOT, type: 'png' });
      }

      // UTF-8 passes through both ways.
      const u = 'grüße, ça va? ✓ 🎉';
      await say(bob, u);
      await waitLog(alice, `bob: ${u}`, 'msg');
      await carol.waitLine(`bob: ${u}`);
      carol.send(`re: ${u}`);
      await waitLog(bob, `carol: re: ${u}`, 'msg');

      // `//x` sends `/x` as a message.
      await say(bob, '//shrug');
      await waitLog(alice, 'bob: /shrug', 'msg');
      await waitLog(bob, 'bob: /shrug', 'own');
    });

    await step('text stays text: an HTML probe shows literally', async () => {
      const probe = '<img src=x onerror=alert(1)>';
      await say(alice, probe);
      carol.send('<b>bold?</b> <script>alert(2)</script>');
      await waitLog(bob, `alice: ${probe}`, 'msg');
      await waitLog(alice, `alice: ${probe}`, 'own');
      await carol.waitLine(`alice: ${probe}`);
      await waitLog(alice, 'carol: <b>bold?</b> <script>alert(2)</script>', 'msg');
      await waitLog(bob, 'carol: <b>bold?</b> <script>alert(2)</script>', 'msg');
      await sleep(200);
      for (const page of [alice, bob]) {
        assert.equal(await page.$$eval('#log img, #log b, #log script', (els) => els.length), 0,
          `${page.who}: no element made from a message`);
        assert.equal(await page.evaluate(() => document.images.length), 0, `${page.who}: no img anywhere`);
        assert.deepEqual(page.dialogs, [], `${page.who}: no dialog`);
      }
    });

    await step('/who typed by a user shows the list', async () => {
      await say(alice, '/who');
      await waitLog(alice, `* online in ${GROUP}: alice, bob, carol`, 'system');
      assert.ok(!(await logOf(bob)).some((l) => l.text.includes('/who')), 'bob sees nothing of it');
    });

    await step('https page (wss://) and TLS line client: everyone sees everyone', async () => {
      const everyone = ['alice', 'bob', 'carol', 'erin', 'frank'];
      const erin = await openPage(browser, 'erin', `${server.httpsUrl}/?group=${GROUP}&name=erin`);
      pages.push(erin);
      await waitLog(erin, joinedLine('erin', 4), 'system');
      await waitState(erin, 'open');
      assert.equal(await erin.evaluate(() => location.protocol), 'https:');
      assert.deepEqual(erin.wsUrls, [`wss://127.0.0.1:${server.httpsPort}/ws`], 'an https page opens wss://');
      assert.deepEqual(erin.wsStatuses, [101]);
      assert.deepEqual(alice.wsUrls, [`ws://127.0.0.1:${server.httpPort}/ws`], 'an http page opens ws://');
      await waitLog(alice, '* erin has joined', 'system');
      await waitLog(bob, '* erin has joined', 'system');
      await carol.waitLine('* erin has joined');

      const frank = await LineClient.connectTls(server.tlsPort, cert.ca);
      tcp.push(frank);
      assert.equal(frank.sock.authorized, true, 'chatd\'s chain verifies against the dev CA');
      frank.send(`JOIN ${GROUP} frank`);
      await frank.waitLine(joinedLine('frank', 5));
      for (const page of [alice, bob, erin]) await waitLog(page, '* frank has joined', 'system');
      await carol.waitLine('* frank has joined');
      for (const page of [alice, bob, erin]) await waitMembers(page, everyone);

      // One line from each kind of member, each seen by the other four.
      await say(erin, 'hello over wss');
      await say(alice, 'hello over ws');
      carol.send('hello over tcp');
      frank.send('hello over tls');
      const lines = ['erin: hello over wss', 'alice: hello over ws', 'carol: hello over tcp', 'frank: hello over tls'];
      for (const page of [alice, bob, erin]) {
        for (const line of lines) {
          if (!line.startsWith(`${page.who}: `)) await waitLog(page, line, 'msg');
        }
      }
      for (const [who, client] of [['carol', carol], ['frank', frank]]) {
        for (const line of lines) {
          if (!line.startsWith(`${who}: `)) await client.waitLine(line);
        }
        assert.ok(!client.lines.some((l) => l.startsWith(`${who}: `)), `no echo to ${who}`);
      }

      // Plain members coming and going, seen over TLS; then the TLS ones
      // leave, seen by the plain ones.
      const gina = await LineClient.connect(server.port);
      tcp.push(gina);
      gina.send(`JOIN ${GROUP} gina`);
      await gina.waitLine(joinedLine('gina', 6));
      await waitLog(erin, '* gina has joined', 'system');
      await frank.waitLine('* gina has joined');
      gina.close();
      await waitLog(erin, '* gina has left', 'system');
      await frank.waitLine('* gina has left');
      const hank = await openPage(browser, 'hank', `${server.url}/?group=${GROUP}&name=hank`, erin.context_);
      await waitLog(hank, joinedLine('hank', 6), 'system');
      await waitLog(erin, '* hank has joined', 'system');
      await frank.waitLine('* hank has joined');
      await hank.close();
      await waitLog(erin, '* hank has left', 'system');
      await frank.waitLine('* hank has left');

      frank.send('/quit');
      await frank.waitLine('* bye');
      await frank.waitClosed();
      for (const page of [alice, bob, erin]) await waitLog(page, '* frank has left', 'system');
      await carol.waitLine('* frank has left');
      await erin.context_.close();
      pages.splice(pages.indexOf(erin), 1);
      for (const page of [alice, bob]) await waitLog(page, '* erin has left', 'system');
      await carol.waitLine('* erin has left');
      for (const page of [alice, bob]) await waitMembers(page, ['alice', 'bob', 'carol']);
      assert.deepEqual(erin.errors, [], 'erin: no script errors');
    });

    await step('a taken name: ERROR name taken, the form comes back', async () => {
      const dave = await openPage(browser, 'dave', `${server.url}/?group=${GROUP}&name=bob`);
      pages.push(dave);
      await waitLog(dave, 'ERROR name taken', 'error');
      await waitPage(dave, 'the join form with the error',
        () => getComputedStyle(document.querySelector('#join')).display !== 'none' &&
              /name taken/.test(document.querySelector('#join-error').textContent));
      await waitState(dave, 'closed');
      assert.equal(await dave.$eval('#name', (i) => i.value), 'bob', 'the form keeps what was typed');
      await sleep(1200); // no retry with a refused name
      assert.equal(await dave.$eval('#status', (s) => s.dataset.state), 'closed');
      assert.equal((await logOf(dave)).filter((l) => l.text === 'ERROR name taken').length, 1, 'tried once');
      // A free name from the same form works.
      await dave.$eval('#name', (i) => { i.value = ''; });
      await dave.type('#name', 'dave');
      await dave.click('#join-button');
      await waitLog(dave, joinedLine('dave', 4), 'system');
      await waitLog(alice, '* dave has joined', 'system');
      await dave.context_.close();
      pages.splice(pages.indexOf(dave), 1);
      await waitLog(alice, '* dave has left', 'system');
      await waitLog(bob, '* dave has left', 'system');
      await carol.waitLine('* dave has left');
      assert.ok(!(await logOf(alice)).some((l) => l.text === '* bob has left'), 'the refused JOIN did not touch bob');
    });

    await step('carol quits: both pages show it and update the list', async () => {
      carol.send('/quit');
      await carol.waitLine('* bye');
      await carol.waitClosed();
      await waitLog(alice, '* carol has left', 'system');
      await waitLog(bob, '* carol has left', 'system');
      await waitMembers(alice, ['alice', 'bob']);
      await waitMembers(bob, ['alice', 'bob']);
    });

    await step('bob closes his page: alice and carol see him leave', async () => {
      const carol2 = await LineClient.connect(server.port);
      tcp.push(carol2);
      carol2.send(`JOIN ${GROUP} carol`);
      await carol2.waitLine(joinedLine('carol', 3));
      await waitLog(alice, '* carol has joined', 'system', WAIT_MS, 2);
      await bob.context_.close();
      pages.splice(pages.indexOf(bob), 1);
      await waitLog(alice, '* bob has left', 'system');
      await carol2.waitLine('* bob has left');
      await waitMembers(alice, ['alice', 'carol']);

      bob = await openPage(browser, 'bob', `${server.url}/?group=${GROUP}&name=bob`);
      pages.push(bob);
      await waitLog(bob, joinedLine('bob', 3), 'system');
      await waitMembers(bob, ['alice', 'bob', 'carol']);
      await waitLog(alice, '* bob has joined', 'system', WAIT_MS, 2);
      carol = carol2;
    });

    await step('server restart: pages show it, reconnect and rejoin by themselves', async () => {
      const port = server.httpPort;
      const stopping = server.stop();
      await carol.waitLine('* server shutting down');
      await waitLog(alice, '* server shutting down', 'system');
      await waitLog(bob, '* server shutting down', 'system');
      await waitState(alice, 'closed');
      await waitState(bob, 'closed');
      await waitPage(alice, 'a disconnected notice', () => document.querySelector('#log li.disconnected') !== null);
      const { code, signal } = await stopping;
      server = null;
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'chatd exits 0 on SIGTERM');
      // Keep the pages waiting through at least one failed attempt.
      await sleep(700);
      assert.equal(await alice.$eval('#msg', (i) => i.disabled), true, 'no typing while disconnected');

      server2 = await Chatd.start({ cert, httpPort: port });
      await waitState(alice, 'open', RECONNECT_MS);
      await waitState(bob, 'open', RECONNECT_MS);
      const lines = [joinedLine('alice', 1), joinedLine('alice', 2), joinedLine('bob', 1), joinedLine('bob', 2)];
      await waitPage(alice, 'alice rejoined',
        (lines) => [...document.querySelectorAll('#log li .body')].filter((b) => lines.includes(b.textContent)).length >= 2,
        [lines]);
      await waitMembers(alice, ['alice', 'bob']);
      await waitMembers(bob, ['alice', 'bob']);

      assert.equal(await alice.$$eval('#log li.disconnected', (l) => l.length), 1,
        'one disconnect notice for the outage, however many attempts');

      const again = 'back again';
      await say(alice, again);
      await waitLog(bob, `alice: ${again}`, 'msg');
      await waitLog(alice, `alice: ${again}`, 'own');
      const late = await LineClient.connect(server2.port);
      tcp.push(late);
      late.send(`JOIN ${GROUP} carol`);
      await late.waitLine(joinedLine('carol', 3));
      await say(bob, 'welcome back carol');
      await late.waitLine('bob: welcome back carol');
    });

    await step('phone width: no horizontal scrolling', async () => {
      await bob.setViewport({ width: 360, height: 640 });
      await sleep(100);
      const { scroll, client } = await bob.evaluate(() => ({
        scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `page is ${scroll}px wide in a ${client}px viewport`);
      assert.equal(await bob.$eval('meta[name=viewport]', (m) => m.content), 'width=device-width, initial-scale=1');
      await waitMembers(bob, ['alice', 'bob', 'carol']);
    });

    await step('Leave: /quit, * bye, the form again', async () => {
      await alice.click('#leave');
      await waitLog(alice, '* bye', 'system');
      await waitState(alice, 'closed');
      await waitPage(alice, 'the join form', () => getComputedStyle(document.querySelector('#join')).display !== 'none');
      await waitLog(bob, '* alice has left', 'system', WAIT_MS, 1);
      await waitMembers(bob, ['bob', 'carol']);
      await sleep(800); // and it stays out: no reconnect after a /quit
      assert.equal(await alice.$eval('#status', (s) => s.dataset.state), 'closed');
    });

    assert.equal(failed, '', 'every step passed');
    for (const page of pages) {
      assert.deepEqual(page.errors, [], `${page.who}: no script errors`);
      assert.deepEqual(page.dialogs, [], `${page.who}: no dialogs`);
      const port = (server2 || server).httpPort;
      assert.ok(page.wsUrls.length > 0 && page.wsUrls.every((u) => u === `ws://127.0.0.1:${port}/ws`),
        `${page.who}: every WebSocket of an http page is ws://: ${JSON.stringify(page.wsUrls)}`);
    }
  } catch (e) {
    const s = server2 || server;
    if (s) process.stderr.write(`--- chatd output ---\n${s.output.join('')}\n`);
    throw e;
  } finally {
    for (const c of tcp) c.close();
    if (browser) {
      const proc = browser.process();
      await withTimeout(browser.close(), 5000, 'closing chromium').catch(() => proc && proc.kill('SIGKILL'));
    }
    for (const s of [server, server2]) {
      if (s) await s.stop().catch(() => s.kill());
    }
    if (profile) await fs.rm(profile, { recursive: true, force: true }).catch(() => {});
    if (cert) await fs.rm(cert.dir, { recursive: true, force: true }).catch(() => {});
  }
});
