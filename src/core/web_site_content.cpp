// The pages of the embedded web site, written for this project (not the reference's assets): plain HTML, one
// stylesheet and a small script, no third-party code, no tracking, readable without JavaScript where possible.
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
<p>Copy the link and paste it into the SimpleX Chat app (the <strong>+</strong> button, then “Connect via link”).</p>
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
      {{"site.css", kSiteCss}, {"link.js", kLinkJs}},
      {{"apple-app-site-association", kAppleAppSiteAssociation}, {"assetlinks.json", kAssetLinks}},
  };
  return c;
}

}  // namespace sr::web
