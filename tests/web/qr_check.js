"use strict";
// Checks the link page's QR encoder (media/qrcode.js of the generated site) with an independent decoder: each
// SVG it draws is turned back into a bitmap, written as a PBM image and read with `zbarimg`, which must return
// the encoded text. Usage: node qr_check.js <qrcode.js> [<work dir>]. Prints one line per failure; exit 1 on any.
const fs = require("fs");
const os = require("os");
const path = require("path");
const vm = require("vm");
const { execFileSync } = require("child_process");

const [script, workArg] = process.argv.slice(2);
if (!script) {
  console.error("usage: node qr_check.js <qrcode.js> [<work dir>]");
  process.exit(2);
}
const work = workArg || fs.mkdtempSync(path.join(os.tmpdir(), "qr-check-"));
// Run it as the page does: a plain script that sets window.SimplexQR.
const page = { TextEncoder };
page.window = page;
vm.runInNewContext(fs.readFileSync(script, "utf8"), page, { filename: script });
const QR = page.SimplexQR;

let failures = 0, checked = 0;
function fail(msg) {
  failures++;
  console.log("FAIL " + msg);
}

// The SVG's path back to a bitmap: the encoder draws dark runs as "M<x> <y>h<w>v1h-<w>z".
function svgBitmap(svg) {
  const n = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)[1]);
  const bits = Array.from({ length: n }, () => new Array(n).fill(false));
  const d = /<path[^>]* d="([^"]*)"/.exec(svg)[1];
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let x = Number(m[1]); x < Number(m[1]) + Number(m[3]); x++) bits[Number(m[2])][x] = true;
  }
  return bits;
}

// PBM P4 (1 = black, rows packed MSB first), each module `scale` pixels.
function writePbm(file, bits, scale) {
  const w = bits.length * scale, rowBytes = Math.ceil(w / 8);
  const body = Buffer.alloc(rowBytes * w);
  for (let y = 0; y < w; y++)
    for (let x = 0; x < w; x++)
      if (bits[Math.floor(y / scale)][Math.floor(x / scale)]) body[y * rowBytes + (x >> 3)] |= 0x80 >> (x & 7);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`P4\n${w} ${w}\n`), body]));
}

function check(name, text, level) {
  checked++;
  const svg = QR.svg(text, "QR code of the SimpleX link", level);
  if ((svg.match(/<path/g) || []).length !== 1 || !svg.includes('aria-label="QR code of the SimpleX link"'))
    return fail(`${name}: the SVG is not one labelled path`);
  const qr = QR.encode(text, level);
  const bits = svgBitmap(svg);
  if (bits.length !== qr.size + 8) return fail(`${name}: no 4-module quiet zone`);
  const file = path.join(work, `qr-${checked}.pbm`);
  writePbm(file, bits, 4);
  let out;
  try {
    out = execFileSync("zbarimg", ["--raw", "-q", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    return fail(`${name} (version ${qr.version}-${qr.level}, mask ${qr.mask}): zbarimg found no code in ${file}`);
  }
  if (out.replace(/\n$/, "") !== text)
    return fail(`${name} (version ${qr.version}-${qr.level}): decoded ${JSON.stringify(out)}`);
  fs.unlinkSync(file);
  return qr;
}

// Real-looking links: base64url keys and hashes as the app makes them.
function b64url(n, seed) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let s = "", x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += abc[x % 64];
  }
  return s;
}
const server = (i) =>
  `smp%3A%2F%2F${b64url(43, i)}%3D%40smp${i}.example.com%2C${b64url(56, i + 50).toLowerCase()}.onion`;
const shortLink = `simplex:/a#${b64url(43, 1)}?h=smp.example.com`;
const dhKey = `MCowBQYDK2VuAyEA${b64url(43, 2)}%3D`;
const contact = `simplex:/contact#/?v=2-7&smp=${server(3)}%2F${b64url(32, 4)}%23%2F%3Fv%3D1-4%26dh%3D${dhKey}` +
  `%26q%3Dc%2C${server(5)}%2F${b64url(32, 6)}%23%2F%3Fv%3D1-4%26dh%3D${dhKey}%26q%3Dc` +
  `&data=%7B%22groupLinkId%22%3A%22${b64url(22, 7)}%3D%3D%22%7D`;
let longInvitation = `simplex:/invitation#/?v=2-7&smp=`;
for (let i = 0; longInvitation.length < 1400; i++) longInvitation += `${server(10 + i)}%2F${b64url(32, 20 + i)}%2C`;
longInvitation += `&e2e=v%3D2-3%26x3dh%3D${b64url(100, 99)}`;

const links = [["short link", shortLink], ["contact link", contact], ["long invitation", longInvitation]];
for (const [name, text] of links) {
  const qr = check(`${name} (${text.length} bytes)`, text);
  if (qr) console.log(`ok ${name}: ${text.length} bytes, version ${qr.version}-${qr.level}, mask ${qr.mask}`);
}

// Every version at both levels, each filled to its last byte: this is where a wrong block table, alignment
// position or version information would show.
for (const level of ["M", "L"]) {
  for (let n = 1, v = 1; v <= 40; n++) {
    const next = QR.fit(n + 1, level);
    if (next && next.version === v) continue;
    check(`${n} bytes at level ${level}`, b64url(n, n), level);
    v++;
  }
}
// The standard's byte capacities at the extremes: 14 (1-M), 2331 (40-M), 2953 (40-L); beyond L's there is no code.
const at = (n) => QR.fit(n);
if (at(14).version !== 1 || at(15).version !== 2) fail("1-M does not hold exactly 14 bytes");
if (at(2331).level !== "M" || at(2332).level !== "L" || at(2953).version !== 40 || at(2954) !== null)
  fail("version 40 does not hold exactly 2331 bytes at M and 2953 at L");

console.log(`${checked} codes checked, ${failures} failed`);
process.exit(failures ? 1 : 0);
