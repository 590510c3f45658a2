// The console in Firefox (a manual check; CI drives Chromium in ConsoleIT): with `./tally demo` running, and Debian's
// firefox-esr installed, `npm install && node check.mjs [gateway]` signs in with the dev login, opens the demo's first
// rule and checks its leaderboard changes live, the chart, the event tail and the API reference, with no page errors.
// Firefox is driven over WebDriver BiDi by puppeteer-core (no browser download). Screenshot: firefox-console.png.
import puppeteer from 'puppeteer-core';
const gateway = process.argv[2] || 'http://127.0.0.1:8080';
const browser = await puppeteer.launch({ browser: 'firefox', executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr', headless: true, defaultViewport: null, args: ['--width=1366', '--height=1100'],
  extraPrefsFirefox: { 'network.proxy.type': 0 } });
const page = await browser.newPage();

const errors = [];
page.on('pageerror', e => errors.push(String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
await page.goto(gateway + '/');
await page.waitForSelector('#dev-login', { timeout: 15000 });
await page.$eval('#dev-tenant', el => { el.value = 'demo'; });
await page.click('#dev-login');
await page.waitForSelector('[data-testid=rules] a', { timeout: 15000 });
const rules = await page.$$eval('[data-testid=rules] tr[data-rule]', rows => rows.map(r => r.textContent.slice(0, 40)));
console.log('rules listed:', rules.length);
await page.click('[data-testid=rules] a');
await page.waitForSelector('[data-testid=leaderboard] li[data-group]', { timeout: 20000 });
const first = await page.$$eval('[data-testid=leaderboard] li[data-group]', ls => ls.map(l => l.dataset.group + '=' + l.dataset.value));
await new Promise(r => setTimeout(r, 4000));
const later = await page.$$eval('[data-testid=leaderboard] li[data-group]', ls => ls.map(l => l.dataset.group + '=' + l.dataset.value));
console.log('leaderboard then:', first.slice(0, 3).join(' '), ' 4 s later:', later.slice(0, 3).join(' '));
console.log('chart drawn:', !!(await page.$('[data-testid=series] canvas')));
await page.screenshot({ path: 'firefox-console.png' });
await page.goto(gateway + '/console/#/events');
for (let i = 0; i < 100 && (await page.$$eval('[data-testid=tail] div', d => d.length)) === 0; i++) await new Promise(r => setTimeout(r, 200));
console.log('tail lines:', await page.$$eval('[data-testid=tail] div', d => d.length));
await page.goto(gateway + '/reference');
await page.waitForSelector('details.ref-op', { timeout: 10000 });
console.log('reference operations+schemas:', await page.$$eval('details.ref-op', d => d.length));
console.log('page errors:', errors.length ? errors : 'none');
if (errors.length || first.join() === later.join()) process.exitCode = 1;
await browser.close();
