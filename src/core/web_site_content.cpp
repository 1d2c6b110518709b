// The pages of the embedded web site, written for this project (not the reference's assets): plain HTML, one
// stylesheet and small scripts (the link page draws its QR code itself), no third-party code, no tracking,
// readable without JavaScript where possible.
// index.html and file/index.html are templates (web_site.hpp render): <x-name>…</x-name> sections and ${name}
// values use the reference's names, so an operator's [INFORMATION] shows the same facts.
// The browser XFTP client of the reference (xftp-web-bundle/) is not shipped: the file page explains how to
// receive a file with the app or `xftp-cli recv` instead.
#include "core/web_site.hpp"

namespace sr::web {

namespace {

constexpr std::string_view kIndexHtml = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><x-smpConfig>SMP server</x-smpConfig><x-xftpConfig>XFTP server</x-xftpConfig> information</title>
<link rel="stylesheet" href="/media/site.css">
</head>
<body>
<header>
<h1><x-smpConfig>SimpleX messaging (SMP) server</x-smpConfig><x-xftpConfig>SimpleX file transfer (XFTP) server</x-xftpConfig></h1>
<p class="lead">This server relays <x-smpConfig>end-to-end encrypted messages</x-smpConfig><x-xftpConfig>end-to-end encrypted file chunks</x-xftpConfig> for SimpleX Chat users. It does not know who the users are and cannot read what they send.</p>
</header>
<main>
<section aria-labelledby="config">
<h2 id="config">Configuration</h2>
<table>
<x-smpConfig>
<tr><th scope="row">Persistence</th><td>${persistence}</td></tr>
<tr><th scope="row">Messages expire after</th><td>${messageExpiration}</td></tr>
<tr><th scope="row">Statistics enabled</th><td>${statsEnabled}</td></tr>
<tr><th scope="row">New queues allowed</th><td>${newQueuesAllowed}</td></tr>
<tr><th scope="row">Password required for new queues</th><td>${basicAuthEnabled}</td></tr>
</x-smpConfig>
<x-xftpConfig>
<tr><th scope="row">Files expire after</th><td>${fileExpiration}</td></tr>
<tr><th scope="row">Statistics enabled</th><td>${statsEnabled}</td></tr>
<tr><th scope="row">New uploads allowed</th><td>${newUploadsAllowed}</td></tr>
<tr><th scope="row">Password required for uploads</th><td>${basicAuthEnabled}</td></tr>
</x-xftpConfig>
</table>
</section>

<section aria-labelledby="info">
<h2 id="info">Server information</h2>
<table>
<x-operator><tr><th scope="row">Operator</th><td>${operatorEntity} <span class="country">${operatorCountry}</span></td></tr></x-operator>
<x-website><tr><th scope="row">Website</th><td><a href="${website}" rel="noopener">${website}</a></td></tr></x-website>
<x-hosting><tr><th scope="row">Hosting provider</th><td>${hostingEntity} <span class="country">${hostingCountry}</span></td></tr></x-hosting>
<x-hostingType><tr><th scope="row">Hosting type</th><td>${hostingType}</td></tr></x-hostingType>
<x-serverCountry><tr><th scope="row">Server country</th><td>${serverCountry}</td></tr></x-serverCountry>
<x-onionHost><tr><th scope="row">Onion address</th><td><code>${onionHost}</code></td></tr></x-onionHost>
<x-usageConditions><tr><th scope="row">Usage conditions</th><td><a href="${usageConditions}" rel="noopener">${usageConditions}</a></td></tr></x-usageConditions>
<x-usageAmendments><tr><th scope="row">Amendments</th><td><a href="${usageAmendments}" rel="noopener">${usageAmendments}</a></td></tr></x-usageAmendments>
</table>
<x-admin>
<h3>Administrator</h3>
<ul class="contacts">
<x-adminSimplex><li>SimpleX address: <a href="${adminSimplex}">connect in the app</a></li></x-adminSimplex>
<x-adminEmail><li>Email: <a href="mailto:${adminEmail}">${adminEmail}</a></li></x-adminEmail>
<x-adminPGP><li>PGP key: <a href="${adminPGP}" rel="noopener">${adminPGPFingerprint}</a></li></x-adminPGP>
</ul>
</x-admin>
<x-complaints>
<h3>Reports and complaints</h3>
<ul class="contacts">
<x-complaintsSimplex><li>SimpleX address: <a href="${complaintsSimplex}">connect in the app</a></li></x-complaintsSimplex>
<x-complaintsEmail><li>Email: <a href="mailto:${complaintsEmail}">${complaintsEmail}</a></li></x-complaintsEmail>
<x-complaintsPGP><li>PGP key: <a href="${complaintsPGP}" rel="noopener">${complaintsPGPFingerprint}</a></li></x-complaintsPGP>
</ul>
</x-complaints>
</section>

<section aria-labelledby="source">
<h2 id="source">Source code</h2>
<x-sourceCode><p>The source code of this server: <a href="${sourceCode}" rel="noopener">${sourceCode}</a></p></x-sourceCode>
<x-noSourceCode><p>The operator has not published the source code of this server.</p></x-noSourceCode>
<p>Compatible with SimpleX server version ${version}; build <x-commitSourceCode><a href="${commitSourceCode}/commit/${commit}" rel="noopener"></x-commitSourceCode><code title="${commit}">${shortCommit}</code><x-commitSourceCode></a></x-commitSourceCode>.</p>
</section>
</main>
<footer>
<p>Server operators: this page is generated at every start from the <code>[INFORMATION]</code> section of <code>${iniFileName}</code>.</p>
</footer>
</body>
</html>
)html";

constexpr std::string_view kLinkHtml = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SimpleX link</title>
<link rel="stylesheet" href="/media/site.css">
<script src="/media/qrcode.js" defer></script>
<script src="/media/link.js" defer></script>
</head>
<body>
<header>
<h1>Open this link in SimpleX Chat</h1>
<p class="lead">Somebody shared a SimpleX link with you: a contact address, a one-time invitation or a group link.</p>
</header>
<main>
<section aria-labelledby="open">
<h2 id="open">On this device</h2>
<p><a id="app-link" class="button" href="#">Open in SimpleX app</a></p>
<noscript><p>JavaScript is off: copy the address of this page and paste it in the app.</p></noscript>
</section>
<section aria-labelledby="other">
<h2 id="other">In the app on another device</h2>
<p>Scan this code with the SimpleX Chat app on your phone (the <strong>+</strong> button, then “Scan / paste link”):</p>
<div id="qr"></div>
<p>Or copy the link and paste it into the app (the <strong>+</strong> button, then “Connect via link”).</p>
<p class="link-row"><code id="https-link"></code> <button id="copy" type="button">Copy link</button> <span id="copied" role="status"></span></p>
</section>
<section aria-labelledby="get">
<h2 id="get">No app yet?</h2>
<p>Install SimpleX Chat from <a href="https://simplex.chat" rel="noopener">simplex.chat</a>, then open this link again.</p>
</section>
</main>
</body>
</html>
)html";

// How a link page turns https://<host>/<type>#<rest> into the app's simplex:/<type>#<rest>: full links
// (contact, invitation) carry their servers in the fragment; short links (one-letter types) name the server by the
// `h` parameter, so this host is added to it.
constexpr std::string_view kLinkJs = R"js("use strict";
(function () {
  function appLink(loc) {
    var parts = loc.pathname.split("/").filter(function (p) { return p !== ""; });
    var type = parts.length > 0 ? parts[parts.length - 1] : "";
    var hash = loc.hash;
    var host = loc.hostname;
    if (type.length === 1) {
      if (hash.indexOf("?") < 0) hash += "?h=" + host;
      else if (!/[?&]h=/.test(hash)) hash += "&h=" + host;
      else hash = hash.replace(/([?&])h=([^&]*)/, function (_, sep, hosts) { return sep + "h=" + host + "," + hosts; });
    }
    return { https: "https://" + loc.host + "/" + type + loc.hash, app: "simplex:/" + type + hash };
  }
  function show() {
    var links = appLink(window.location);
    document.getElementById("app-link").href = links.app;
    document.getElementById("https-link").textContent = links.https;
    // The https form, as the reference's page encodes it: a phone camera opens it (in the browser, or in the app
    // through the well-known app links), and the app's own scanner reads it too.
    var qr = document.getElementById("qr");
    if (window.SimplexQR) qr.innerHTML = window.SimplexQR.svg(links.https, "QR code of the SimpleX link");
    var copy = document.getElementById("copy");
    copy.onclick = function () {
      var done = function () { document.getElementById("copied").textContent = "Copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(links.https).then(done);
    };
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show);
  else show();
  window.addEventListener("hashchange", show);
})();
)js";

// The QR code on the link pages, drawn in the browser from the link in the fragment (which never reaches the
// server). Loaded before link.js, which calls SimplexQR.svg.
constexpr std::string_view kQrCodeJs = R"js("use strict";
// A QR code encoder (ISO/IEC 18004) for the link page: byte mode, level M (L when the text is too long for M),
// versions 1-40, drawn as one SVG path. Written for this site so the page needs no third-party code or network.
(function (root) {
  // Error correction codewords per block and number of blocks, by version (index 1-40), from the standard's table.
  var LEVELS = {
    L: { bits: 1, ecc: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30,
                        30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
         blocks: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15,
                  16, 17, 18, 19, 19, 20, 21, 22, 24, 25] },
    M: { bits: 0, ecc: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28,
                        28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
         blocks: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26,
                  28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49] }
  };

  // GF(256) with the QR polynomial x^8+x^4+x^3+x^2+1: exp/log tables make multiplication two lookups.
  var EXP = new Array(512), LOG = new Array(256);
  for (var i = 0, x = 1; i < 255; i++) {
    EXP[i] = x; LOG[x] = i;
    x <<= 1;
    if (x & 256) x ^= 0x11d;
  }
  for (i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
  function mul(a, b) { return a && b ? EXP[LOG[a] + LOG[b]] : 0; }

  // Reed-Solomon: the n check bytes are the remainder of data(x)*x^n divided by prod(x - a^i), i < n.
  function rsGenerator(n) {
    var g = [1];  // coefficients, highest power first
    for (var i = 0; i < n; i++) {
      var next = new Array(g.length + 1).fill(0);
      for (var j = 0; j < g.length; j++) {
        next[j] ^= g[j];
        next[j + 1] ^= mul(g[j], EXP[i]);
      }
      g = next;
    }
    return g;
  }
  function rsRemainder(data, gen) {
    var rem = new Array(gen.length - 1).fill(0);
    data.forEach(function (b) {
      var factor = b ^ rem.shift();
      rem.push(0);
      for (var i = 0; i < rem.length; i++) rem[i] ^= mul(gen[i + 1], factor);
    });
    return rem;
  }

  // The matrix of one version: modules (true = dark) and which of them belong to function patterns, which data
  // and masks leave alone.
  function Matrix(version) {
    var size = 17 + 4 * version;
    this.version = version;
    this.size = size;
    this.dark = [];
    this.fixed = [];
    for (var r = 0; r < size; r++) {
      this.dark.push(new Array(size).fill(false));
      this.fixed.push(new Array(size).fill(false));
    }
    this.drawFunctionPatterns();
  }
  Matrix.prototype.set = function (r, c, dark) {
    if (r < 0 || c < 0 || r >= this.size || c >= this.size) return;
    this.dark[r][c] = dark;
    this.fixed[r][c] = true;
  };
  Matrix.prototype.drawFunctionPatterns = function () {
    var size = this.size, v = this.version, i, dr, dc, d;
    for (i = 0; i < size; i++) {  // timing patterns
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    // Finder patterns with their light separators: rings by Chebyshev distance from the centre.
    [[3, 3], [3, size - 4], [size - 4, 3]].forEach(function (ctr) {
      for (dr = -4; dr <= 4; dr++) for (dc = -4; dc <= 4; dc++) {
        d = Math.max(Math.abs(dr), Math.abs(dc));
        this.set(ctr[0] + dr, ctr[1] + dc, d !== 2 && d !== 4);
      }
    }, this);
    // Alignment patterns: evenly spaced from the far edge back to 6, except where they would cover a finder.
    if (v > 1) {
      var count = Math.floor(v / 7) + 2, last = size - 7;
      var step = v === 32 ? 26 : Math.ceil((last - 6) / (count - 1) / 2) * 2;
      var pos = [6];
      for (var p = last; pos.length < count; p -= step) pos.splice(1, 0, p);  // ascending: 6, ..., last
      pos.forEach(function (r) {
        pos.forEach(function (c) {
          if ((r === 6 && c === 6) || (r === 6 && c === last) || (r === last && c === 6)) return;
          for (dr = -2; dr <= 2; dr++) for (dc = -2; dc <= 2; dc++)
            this.set(r + dr, c + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
        }, this);
      }, this);
    }
    this.drawFormat(0);  // reserves the format areas; the real bits come after masking
    this.set(size - 8, 8, true);  // the dark module
    if (v >= 7) {
      // Version information: 6 bits and a BCH(18,6) check, twice.
      var rem = v;
      for (i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
      var bits = (v << 12) | rem;
      for (i = 0; i < 18; i++) {
        var bit = ((bits >> i) & 1) === 1, a = size - 11 + (i % 3), b = Math.floor(i / 3);
        this.set(b, a, bit);
        this.set(a, b, bit);
      }
    }
  };
  // Format information: level and mask with a BCH(15,5) check, XORed so that it is never all light; two copies.
  Matrix.prototype.drawFormat = function (data) {
    var rem = data, i, size = this.size;
    for (i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    var bits = ((data << 10) | rem) ^ 0x5412;
    var bit = function (k) { return ((bits >> k) & 1) === 1; };
    for (i = 0; i <= 5; i++) this.set(i, 8, bit(i));
    this.set(7, 8, bit(6));
    this.set(8, 8, bit(7));
    this.set(8, 7, bit(8));
    for (i = 9; i < 15; i++) this.set(8, 14 - i, bit(i));
    for (i = 0; i < 8; i++) this.set(8, size - 1 - i, bit(i));
    for (i = 8; i < 15; i++) this.set(size - 15 + i, 8, bit(i));
  };
  Matrix.prototype.dataCapacity = function () {  // in bits: every module not taken by a function pattern
    var n = 0;
    this.fixed.forEach(function (row) { row.forEach(function (f) { if (!f) n++; }); });
    return n;
  };
  // Codewords go in two-module columns, right to left, alternately upwards and downwards, skipping the vertical
  // timing column; modules left over (remainder bits) stay light.
  Matrix.prototype.placeData = function (bytes) {
    var size = this.size, k = 0, up = true;
    for (var right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (var n = 0; n < size; n++) {
        var r = up ? size - 1 - n : n;
        for (var c = right; c >= right - 1; c--) {
          if (this.fixed[r][c]) continue;
          this.dark[r][c] = k < bytes.length * 8 && ((bytes[k >> 3] >> (7 - (k & 7))) & 1) === 1;
          k++;
        }
      }
      up = !up;
    }
  };
  var MASKS = [
    function (r, c) { return (r + c) % 2 === 0; },
    function (r) { return r % 2 === 0; },
    function (r, c) { return c % 3 === 0; },
    function (r, c) { return (r + c) % 3 === 0; },
    function (r, c) { return (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0; },
    function (r, c) { return (r * c) % 2 + (r * c) % 3 === 0; },
    function (r, c) { return ((r * c) % 2 + (r * c) % 3) % 2 === 0; },
    function (r, c) { return ((r + c) % 2 + (r * c) % 3) % 2 === 0; }
  ];
  Matrix.prototype.applyMask = function (m) {  // XOR, so applying it twice undoes it
    for (var r = 0; r < this.size; r++) for (var c = 0; c < this.size; c++)
      if (!this.fixed[r][c] && MASKS[m](r, c)) this.dark[r][c] = !this.dark[r][c];
  };
  // The standard's penalty score: lower means easier to scan (no long runs, blocks or finder look-alikes, and
  // about as many dark modules as light).
  Matrix.prototype.penalty = function () {
    var size = this.size, dark = this.dark, score = 0, darkCount = 0, r, c, i;
    var lines = [];  // every row and every column, as arrays of booleans
    for (i = 0; i < size; i++) {
      lines.push(dark[i]);
      lines.push(dark.map(function (row) { return row[i]; }));
    }
    var finderLike = [true, false, true, true, true, false, true];
    lines.forEach(function (line) {
      for (var s = 0, e = 1; e <= size; e++) {  // rule 1: runs of five or more
        if (e < size && line[e] === line[s]) continue;
        if (e - s >= 5) score += e - s - 2;
        s = e;
      }
      // Rule 3: 1:1:3:1:1 with four light modules on one side (outside the symbol counts as light).
      var at = function (k) { return k >= 0 && k < size && line[k]; };
      for (var k = 0; k + 7 <= size; k++) {
        var match = true;
        for (var j = 0; j < 7 && match; j++) match = line[k + j] === finderLike[j];
        if (!match) continue;
        var before = !at(k - 1) && !at(k - 2) && !at(k - 3) && !at(k - 4);
        var after = !at(k + 7) && !at(k + 8) && !at(k + 9) && !at(k + 10);
        if (before) score += 40;
        if (after) score += 40;
      }
    });
    for (r = 0; r < size; r++) for (c = 0; c < size; c++) {
      if (dark[r][c]) darkCount++;
      if (r + 1 < size && c + 1 < size && dark[r][c] === dark[r][c + 1] && dark[r][c] === dark[r + 1][c] &&
          dark[r][c] === dark[r + 1][c + 1]) score += 3;  // rule 2: 2x2 blocks
    }
    // Rule 4: 10 points for each 5% the dark share is away from 50%.
    score += 10 * Math.floor(Math.abs(darkCount * 100 / (size * size) - 50) / 5);
    return score;
  };

  // Data codewords: byte mode indicator, length, the bytes, a terminator, then the standard's pad bytes.
  function dataCodewords(bytes, version, capacity) {
    var bits = [];
    function put(value, n) { for (var i = n - 1; i >= 0; i--) bits.push((value >> i) & 1); }
    put(4, 4);
    put(bytes.length, version < 10 ? 8 : 16);
    bytes.forEach(function (b) { put(b, 8); });
    put(0, Math.min(4, capacity * 8 - bits.length));
    put(0, (8 - bits.length % 8) % 8);
    var out = [];
    for (var i = 0; i < bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8).join(""), 2));
    for (var pad = 0xec; out.length < capacity; pad ^= 0xec ^ 0x11) out.push(pad);
    return out;
  }

  // Data codewords of each version at each level: the modules left by the function patterns, in bytes, less the
  // check bytes. Computed once per version, on first use.
  var dataModules = [];
  function capacity(v, level) {
    if (!dataModules[v]) dataModules[v] = new Matrix(v).dataCapacity();
    return Math.floor(dataModules[v] / 8) - LEVELS[level].blocks[v] * LEVELS[level].ecc[v];
  }

  // The smallest version that holds n bytes at level M, else at level L (or at the given level); null when the
  // text is too long for any.
  function fit(n, level) {
    var levels = level ? [level] : ["M", "L"];
    for (var li = 0; li < levels.length; li++)
      for (var v = 1; v <= 40; v++)
        if (4 + (v < 10 ? 8 : 16) + 8 * n <= capacity(v, levels[li]) * 8) return { version: v, level: levels[li] };
    return null;
  }

  // The QR code of text (UTF-8 bytes): {version, level, mask, size, modules[row][column] (true = dark)}.
  function encode(text, level) {
    var bytes = Array.from(new TextEncoder().encode(text));
    var f = fit(bytes.length, level);
    if (!f) return null;
    var v = f.version, lv = LEVELS[f.level], blocks = lv.blocks[v], ecc = lv.ecc[v];
    var total = capacity(v, f.level), data = dataCodewords(bytes, v, total);
    // Split into blocks (the shorter ones first), add each block's check bytes, then interleave byte by byte so
    // that damage to one area of the symbol spreads over all blocks.
    var gen = rsGenerator(ecc), short = Math.floor(total / blocks), longFrom = blocks - total % blocks;
    var dataBlocks = [], eccBlocks = [], i, at = 0;
    for (i = 0; i < blocks; i++) {
      dataBlocks.push(data.slice(at, at += short + (i >= longFrom ? 1 : 0)));
      eccBlocks.push(rsRemainder(dataBlocks[i], gen));
    }
    var stream = [];
    for (i = 0; i <= short; i++) dataBlocks.forEach(function (blk) { if (i < blk.length) stream.push(blk[i]); });
    for (i = 0; i < ecc; i++) eccBlocks.forEach(function (blk) { stream.push(blk[i]); });
    var m = new Matrix(v);
    m.placeData(stream);
    // Try all eight masks and keep the one with the lowest penalty (scored with its format bits drawn).
    var best = 0, bestScore = Infinity;
    for (var mask = 0; mask < 8; mask++) {
      m.applyMask(mask);
      m.drawFormat((lv.bits << 3) | mask);
      var score = m.penalty();
      if (score < bestScore) { best = mask; bestScore = score; }
      m.applyMask(mask);
    }
    m.applyMask(best);
    m.drawFormat((lv.bits << 3) | best);
    return { version: v, level: f.level, mask: best, size: m.size, modules: m.dark };
  }

  // An SVG of the code: one path of horizontal runs of dark modules, inside a 4-module quiet zone.
  function svg(text, label, level) {
    var qr = encode(text, level);
    if (!qr) return "";
    var d = "", n = qr.size + 8;
    qr.modules.forEach(function (row, r) {
      for (var c = 0; c < qr.size; c++) {
        if (!row[c]) continue;
        var start = c;
        while (c + 1 < qr.size && row[c + 1]) c++;
        d += "M" + (start + 4) + " " + (r + 4) + "h" + (c - start + 1) + "v1h-" + (c - start + 1) + "z";
      }
    });
    var esc = String(label || "QR code").replace(/[&<>"]/g, function (ch) { return "&#" + ch.charCodeAt(0) + ";"; });
    return '<svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img" aria-label="' + esc + '" viewBox="0 0 ' +
      n + " " + n + '" shape-rendering="crispEdges"><path fill="#000" d="' + d + '"/></svg>';
  }

  root.SimplexQR = { fit: fit, encode: encode, svg: svg };
})(typeof window !== "undefined" ? window : globalThis);
)js";

constexpr std::string_view kFileHtml = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SimpleX file</title>
<link rel="stylesheet" href="/media/site.css">
</head>
<body>
<header>
<h1>A file sent with SimpleX</h1>
<p class="lead">The file is stored encrypted on this XFTP server. The key to decrypt it is in the part of the link after <code>#</code>, which your browser never sends to the server.</p>
</header>
<main>
<section aria-labelledby="app">
<h2 id="app">Receive it in SimpleX Chat</h2>
<p>Copy the address of this page and paste it into the SimpleX Chat app.</p>
</section>
<section aria-labelledby="cli">
<h2 id="cli">Receive it from the command line</h2>
<p>With the command line client of this server software:</p>
<pre><code>xftp-cli recv 'LINK' ~/Downloads</code></pre>
<p>where <code>LINK</code> is the full address of this page.</p>
<p>Files expire after ${fileExpiration}.</p>
</section>
</main>
<footer><p><a href="/">About this server</a></p></footer>
</body>
</html>
)html";

constexpr std::string_view kSiteCss = R"css(:root {
  color-scheme: light dark;
  --fg: #1b1f24; --bg: #ffffff; --muted: #5a6470; --accent: #0053d0; --line: #d9dee4; --code: #f2f4f7;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8ebef; --bg: #11151a; --muted: #9aa4b0; --accent: #70a7ff; --line: #2c333c; --code: #1c2229; }
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 46rem; padding: 1.5rem 1rem 3rem;
  font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg);
}
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid var(--line); padding-bottom: 0.25rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 0.25rem; }
.lead { color: var(--muted); }
a { color: var(--accent); }
a:focus, button:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.5rem 0.4rem 0; border-bottom: 1px solid var(--line); }
th { font-weight: 500; width: 45%; }
td { overflow-wrap: anywhere; }
.country { color: var(--muted); }
.contacts { padding-left: 1.2rem; }
code, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; background: var(--code); border-radius: 4px; }
code { padding: 0.1rem 0.3rem; overflow-wrap: anywhere; }
pre { padding: 0.75rem; overflow-x: auto; }
.button, button {
  display: inline-block; padding: 0.6rem 1rem; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--bg); font: inherit; text-decoration: none; cursor: pointer;
}
button { background: transparent; color: var(--accent); padding: 0.3rem 0.7rem; }
.link-row code { display: block; margin-bottom: 0.5rem; }
/* Dark modules on white whatever the colour scheme, as scanners expect; the quiet zone is inside the SVG. */
.qr { display: block; width: min(18rem, 100%); height: auto; aspect-ratio: 1 / 1; background: #fff; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.9rem; }
)css";

// Universal links (iOS) and app links (Android) for the link pages: the app identifiers and the signing
// certificate fingerprints of SimpleX Chat, and the same paths as the reference's files.
constexpr std::string_view kAppleAppSiteAssociation = R"json({
  "applinks": {
    "details": [
      {
        "appIDs": ["5NN7GUYB6T.chat.simplex.app"],
        "components": [
          {"/": "/contact"}, {"/": "/contact/*"},
          {"/": "/invitation"}, {"/": "/invitation/*"},
          {"/": "/a"}, {"/": "/a/*"},
          {"/": "/c"}, {"/": "/c/*"},
          {"/": "/g"}, {"/": "/g/*"},
          {"/": "/i"}, {"/": "/i/*"}
        ]
      }
    ]
  }
}
)json";

constexpr std::string_view kAssetLinks = R"json([
  {
    "relation": ["delegate_permission/common.handle_all_urls"],
    "target": {
      "namespace": "android_app",
      "package_name": "chat.simplex.app",
      "sha256_cert_fingerprints": [
        "5E:3E:DC:C2:00:FB:A8:D5:F4:88:F3:CA:4C:32:5B:05:78:C5:6A:9C:03:A1:CC:B5:92:9C:D7:5C:7E:57:E2:4D",
        "3C:52:C4:FD:3C:AD:1C:07:C9:B0:0A:70:80:E3:58:FA:B9:FE:FC:B8:AF:5A:EC:14:77:65:F1:6D:0F:21:AD:85",
        "AE:C1:95:DC:FD:46:14:BD:3A:91:EC:26:D1:D5:14:C8:75:71:C5:CC:8D:CF:48:08:3F:92:83:14:3C:A2:B9:A6"
      ]
    }
  }
]
)json";

}  // namespace

const Content& content() {
  static const Content c{
      kIndexHtml,
      kLinkHtml,
      kFileHtml,
      {{"site.css", kSiteCss}, {"qrcode.js", kQrCodeJs}, {"link.js", kLinkJs}},
      {{"apple-app-site-association", kAppleAppSiteAssociation}, {"assetlinks.json", kAssetLinks}},
  };
  return c;
}

}  // namespace sr::web
