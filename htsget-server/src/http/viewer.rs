//! The region viewer: `GET /viewer?reads=ID&variants=ID&locus=chr1:10001-12000` answers a small
//! page that shows the region in igv.js through this server's own htsget endpoints, with the
//! reference from a FASTA of the data root (`reference=KEY`, default `ref.fa` when there is
//! one). igv.js comes from `--igv-js`. With access control on, the page asks for a token and
//! passes it to each track (`oauthToken`), in memory only; its reference URLs are signed, and
//! given only for a reference whose id a public rule covers.
//!
//! Every value from the query is data: ids and the reference key are checked against the id
//! grammar, the locus against the grammar of SAM reference names and coordinates; they reach
//! the page only inside a JSON object whose `<`, `>` and `&` are escaped (nothing in it can end
//! the script or open a comment), and igv.js gets track names in a display form of letters,
//! digits and `._/-` only, never the raw id (it renders names as HTML). The page's scripts run
//! under a Content-Security-Policy nonce; igv.js comes from `--igv-js`, pinned by its
//! Subresource Integrity hash.

use std::sync::Arc;

use htsget_core::{ByteRange, Error, Reason, storage::Storage};
use hyper::header::HeaderValue;
use serde_json::json;

use super::{Response, error::ApiError, uncached};
use crate::{
    data_url::{DataUrl, Serves},
    ids,
    state::State,
};

/// The reference used when the query names none, if the data root has it.
const DEFAULT_REFERENCE: &str = "ref.fa";

/// The viewer page for `query`.
pub(crate) async fn page(state: &Arc<State>, query: Option<&str>) -> Result<Response, ApiError> {
    let mut reads = None;
    let mut variants = None;
    let mut locus = None;
    let mut reference = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "reads" => reads = Some(value),
            "variants" => variants = Some(value),
            "locus" => locus = Some(value),
            "reference" => reference = Some(value),
            _ => {}
        }
    }
    let bad = |message: &str| Error::invalid_input(Reason::ViewerParameter, message.to_owned());
    if reads.is_none() && variants.is_none() {
        return Err(bad("the viewer needs reads=ID, variants=ID or both").into());
    }
    for id in reads.iter().chain(&variants) {
        ids::validate(id).map_err(|_| bad("a viewer id is malformed"))?;
    }
    let locus = locus.unwrap_or_default();
    if !is_locus(&locus) {
        return Err(bad("the locus is not NAME or NAME:START-END").into());
    }

    let fasta = reference_urls(state, reference.as_deref()).await?;
    let config = json!({
        "base": state.public_url,
        "reads": reads,
        "variants": variants,
        "names": {
            "reads": reads.as_deref().map(display_name),
            "variants": variants.as_deref().map(display_name),
        },
        "locus": locus,
        "fasta": fasta,
        "auth": state.access_on(),
        "igv": state.config.igv_js,
    });
    let nonce = super::fresh_nonce()?.to_hex();
    let igv = &state.config.igv_js;
    let integrity = match integrity(state) {
        Some(hash) => format!(
            " integrity=\"{}\" crossorigin=\"anonymous\"",
            escape_attribute(hash)
        ),
        None => String::new(),
    };
    let html = PAGE
        .replace("{{IGV_JS}}", &escape_attribute(igv))
        .replace("{{INTEGRITY}}", &integrity)
        .replace("{{NONCE}}", &nonce)
        .replace("{{CONFIG}}", &script_json(&config));

    let mut response = uncached(hyper::StatusCode::OK, "text/html; charset=utf-8", html);
    let headers = response.headers_mut();
    let policy = policy(&nonce, igv, &state.public_url);
    for (name, value) in [
        ("content-security-policy", policy.as_str()),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

/// The Subresource Integrity hash of the igv.js the page loads: `--igv-js-integrity`, else
/// the pinned hash of the default URL's file (none for another URL without one).
fn integrity(state: &State) -> Option<&str> {
    let config = &state.config;
    config.igv_js_integrity.as_deref().or_else(|| {
        (config.igv_js == crate::config::DEFAULT_IGV_JS)
            .then_some(crate::config::DEFAULT_IGV_JS_INTEGRITY)
    })
}

/// The page's Content-Security-Policy: scripts only with this response's `nonce` or from
/// igv.js's origin; connections to this server and the data endpoint's origin (and the
/// `data:` URLs of tickets); nothing framed, embedded, or based elsewhere.
fn policy(nonce: &str, igv: &str, public_url: &str) -> String {
    let igv = origin(igv).unwrap_or_default();
    let data = origin(public_url).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}' {igv}; style-src 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' {data} data: blob:; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an http(s) URL, if it is one whose origin can go in a policy.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
    (matches!(scheme, "http" | "https") && !host.is_empty() && host.chars().all(plain))
        .then(|| format!("{scheme}://{host}"))
}

/// `value` as JSON that can sit in a `<script>`: `<`, `>`, `&` and the two JavaScript line
/// separators escaped, so nothing in it can end the script, open a comment or a tag.
fn script_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// An id as a track name igv.js may render as HTML: letters, digits and `._/-`, anything else
/// as `_`.
fn display_name(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '/' | '-' => c,
            _ => '_',
        })
        .collect()
}

/// Whether `locus` is empty, `NAME` or `NAME:START-END` (digits and commas), `NAME` of the
/// characters SAM allows in reference names, without quotes, brackets or angle brackets.
fn is_locus(locus: &str) -> bool {
    if locus.is_empty() {
        return true;
    }
    let name_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&+./:;?@^_|~-*=".contains(c);
    let position = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == ',');
    let name_ok = |name: &str| {
        !name.is_empty() && !name.starts_with(['*', '=']) && name.chars().all(name_char)
    };
    if locus.len() > 256 {
        return false;
    }
    match locus.rsplit_once(':') {
        Some((name, range)) => match range.split_once('-') {
            Some((start, end)) if position(start) && position(end) => name_ok(name),
            _ => name_ok(locus),
        },
        None => name_ok(locus),
    }
}

/// The FASTA and `.fai` URLs of the reference (`null` when there is none to give).
async fn reference_urls(
    state: &State,
    reference: Option<&str>,
) -> Result<serde_json::Value, ApiError> {
    let key = match reference {
        Some(key) if ids::is_reference(key) && !key.ends_with(".fai") => key,
        Some(_) => {
            return Err(Error::invalid_input(
                Reason::ViewerParameter,
                "reference= names a .fa or .fasta file of the data root",
            )
            .into());
        }
        None => DEFAULT_REFERENCE,
    };
    if ids::validate(key).is_err() {
        return Ok(serde_json::Value::Null);
    }
    let index = format!("{key}.fai");
    let (Ok(fasta), Ok(fai)) = (
        state.storage.head(key).await,
        state.storage.head(&index).await,
    ) else {
        return Ok(serde_json::Value::Null);
    };

    let urls = match &state.signer {
        None => [key, index.as_str()].map(|k| DataUrl::whole(k).to_url(&state.public_url)),
        Some(signer) => {
            let id = key.rsplit_once('.').map_or(key, |(stem, _)| stem);
            if !state.is_public(id) {
                return Ok(serde_json::Value::Null);
            }
            let now = crate::data_url::unix_now();
            let sign = |k: &str, metadata: &htsget_core::storage::Metadata| {
                let version = metadata.identity().tag();
                let whole = ByteRange::new(0, metadata.size().max(1));
                let url = DataUrl::new(k, version.as_str()).serving(Serves::Bytes(whole));
                let url = signer.file(k, &version, None, now).sign(url);
                url.to_url(&state.public_url)
            };
            [sign(key, &fasta), sign(&index, &fai)]
        }
    };
    let [fasta, index] = urls;
    Ok(json!({ "fastaURL": fasta, "indexURL": index }))
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page: igv.js, a token field when access control is on, and the status of what was
/// loaded (`#status`, its `data-reads` and `data-variants` the counts in view).
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>htsget viewer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 1rem; }
#auth { display: none; margin-bottom: 1rem; } #auth input { width: 28rem; }
#status { display: block; margin: .5rem 0; color: #444; }
</style>
<script src="{{IGV_JS}}" nonce="{{NONCE}}"{{INTEGRITY}}></script></head>
<body>
<h1>htsget viewer</h1>
<form id="auth"><label>Bearer token <input id="token" type="password" autocomplete="off"></label>
<button type="submit">Load</button></form>
<output id="status" data-state="waiting">loading…</output>
<div id="igv"></div>
<script nonce="{{NONCE}}">
const config = {{CONFIG}};
const status = document.getElementById("status");
function show(state, text) { status.dataset.state = state; status.textContent = text; }
function parseLocus(locus) {
  const m = /^([^:]+)(?::([\d,]+)-([\d,]+))?$/.exec(locus || "");
  if (!m) return null;
  const n = s => parseInt(s.replace(/,/g, ""), 10);
  return m[2] ? { chr: m[1], start: n(m[2]) - 1, end: n(m[3]) } : { chr: m[1] };
}
async function load(token) {
  document.getElementById("igv").replaceChildren();
  if (!config.fasta) { show("error", "no reference: put ref.fa and ref.fa.fai in the data root, or pass reference="); return; }
  const auth = token ? { oauthToken: token } : {};
  const tracks = [];
  const path = id => id.split("/").map(encodeURIComponent).join("/");
  if (config.reads) tracks.push({ name: config.names.reads, type: "alignment", format: "bam",
    sourceType: "htsget", url: config.base + "/reads/" + path(config.reads), ...auth });
  if (config.variants) tracks.push({ name: config.names.variants, type: "variant", format: "vcf",
    sourceType: "htsget", url: config.base + "/variants/" + path(config.variants), ...auth });
  try {
    show("loading", "loading…");
    const browser = await igv.createBrowser(document.getElementById("igv"), {
      loadDefaultGenomes: false,
      reference: { id: "reference", name: "reference", fastaURL: config.fasta.fastaURL, indexURL: config.fasta.indexURL },
      locus: config.locus || undefined, tracks });
    const where = parseLocus(config.locus);
    let reads = 0, variants = 0;
    if (where && where.end) {
      const alignment = browser.findTracks(t => t.type === "alignment")[0];
      if (alignment) {
        const container = await alignment.featureSource.getAlignments(where.chr, where.start, where.end);
        for (const a of container.allAlignments()) {
          reads += a.firstAlignment ? (a.firstAlignment ? 1 : 0) + (a.secondAlignment ? 1 : 0) : 1;
        }
      }
      const variant = browser.findTracks(t => t.type === "variant")[0];
      if (variant) variants = (await variant.featureSource.getFeatures({ chr: where.chr, start: where.start, end: where.end })).length;
    }
    status.dataset.reads = reads; status.dataset.variants = variants;
    show("loaded", "loaded " + (config.locus || "") + ": " + reads + " reads, " + variants + " variants");
  } catch (e) {
    show("error", "cannot load: " + e);
  }
}
if (typeof igv === "undefined") {
  show("error", "igv.js did not load from " + config.igv);
} else if (config.auth) {
  const form = document.getElementById("auth");
  form.style.display = "block";
  show("waiting", "enter a token to load the tracks");
  form.addEventListener("submit", e => { e.preventDefault(); load(document.getElementById("token").value.trim()); });
} else {
  load(null);
}
</script></body></html>
"#;
