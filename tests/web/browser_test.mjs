// End-to-end test of chatd's web page: the real chatd binary, two headless
// Chromium users (alice and bob, one browser context each) and one raw TCP
// user (carol), all in one group.
//
// Run by browser_test.sh (Bazel: //tests/web:browser_test); by hand:
//   CHATD_BINARY=bazel-bin/server/chatd node --test tests/web/browser_test.mjs
// Env: CHATD_BINARY (required), CHROMIUM (default /usr/bin/chromium),
// CHATD_SCREENSHOT=path: also save a README screenshot there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const CHATD = process.env.CHATD_BINARY;
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

class Chatd {
  constructor(proc, dir, port, httpPort) {
    this.proc = proc;
    this.dir = dir;
    this.port = port;
    this.httpPort = httpPort;
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
      else proc.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  // Starts chatd and waits for both port files.
  static async start({ httpPort = 0 } = {}) {
    assert.ok(CHATD, 'CHATD_BINARY must name the chatd binary');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'chatd-web-'));
    const portFile = path.join(dir, 'port');
    const httpPortFile = path.join(dir, 'http_port');
    const args = [
      '--bind=127.0.0.1', '--port=0', `--port_file=${portFile}`,
      `--http_port=${httpPort}`, `--http_port_file=${httpPortFile}`,
      '--threads=2', '--max_msgs_per_sec=0',
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
    let port = 0, http = 0;
    while (Date.now() < deadline) {
      port = port || await readPort(portFile);
      http = http || await readPort(httpPortFile);
      if (port && http) break;
      if (exitInfo) break;
      await sleep(25);
    }
    if (!port || !http) {
      proc.kill('SIGKILL');
      throw new Error(`chatd ${args.join(' ')} did not write its port files ` +
                      `(exit: ${JSON.stringify(exitInfo)}); output:\n${out.join('')}`);
    }
    if (httpPort) assert.equal(http, httpPort, 'chatd must listen on the --http_port it was given');
    const server = new Chatd(proc, dir, port, http);
    server.output = out;
    return server;
  }

  get url() { return `http://127.0.0.1:${this.httpPort}`; }

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

async function openPage(browser, who, url) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.who = who;
  page.context_ = context;
  page.dialogs = [];
  page.errors = [];
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
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

// ----------------------------------------------------------------- test ---

test('chatd web page: two browsers and a TCP client chat in one group', { timeout: 60000 }, async (t) => {
  let server = null;
  let server2 = null;
  let browser = null;
  let profile = '';
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
    server = await Chatd.start();

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

    // Chromium puts unix sockets in $TMPDIR, and Bazel's TEST_TMPDIR is too
    // long a path for one (108 bytes at most): use /tmp when it is.
    profile = await fs.mkdtemp(path.join(os.tmpdir().length > 60 ? '/tmp' : os.tmpdir(), 'chatd-chromium-'));
    browser = await withTimeout(puppeteer.launch({
      executablePath: CHROMIUM,
      userDataDir: path.join(profile, 'profile'),
      env: { ...process.env, TMPDIR: profile },
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
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

      server2 = await Chatd.start({ httpPort: port });
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
  }
});
