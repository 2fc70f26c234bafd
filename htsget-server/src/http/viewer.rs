//! The region viewer: `GET /viewer?reads=ID&variants=ID&locus=chr1:10001-12000` answers a small
//! page that shows the region in igv.js through this server's own htsget endpoints, with the
//! reference from a FASTA of the data root (`reference=KEY`, default `ref.fa` when there is
//! one). igv.js comes from `--igv-js`. With access control on, the page asks for a token and
//! passes it to each track (`oauthToken`); its reference URLs are signed, and given only for a
//! reference whose id a public rule covers.

use std::sync::Arc;

use htsget_core::{ByteRange, Error, Reason, storage::Storage};
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
    if locus.len() > 256 || locus.chars().any(char::is_control) {
        return Err(bad("the locus is malformed").into());
    }

    let fasta = reference_urls(state, reference.as_deref()).await?;
    let config = json!({
        "base": state.public_url,
        "reads": reads,
        "variants": variants,
        "locus": locus,
        "fasta": fasta,
        "auth": state.access_on(),
    });
    let html = PAGE
        .replace("{{IGV_JS}}", &escape_attribute(&state.config.igv_js))
        // Inside <script>: no `</` can close it early.
        .replace("{{CONFIG}}", &config.to_string().replace("</", "<\\/"));

    Ok(uncached(
        hyper::StatusCode::OK,
        "text/html; charset=utf-8",
        html,
    ))
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
<script src="{{IGV_JS}}"></script></head>
<body>
<h1>htsget viewer</h1>
<form id="auth"><label>Bearer token <input id="token" type="password" autocomplete="off"></label>
<button type="submit">Load</button></form>
<output id="status" data-state="waiting">loading…</output>
<div id="igv"></div>
<script>
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
  if (config.reads) tracks.push({ name: config.reads, type: "alignment", format: "bam",
    sourceType: "htsget", url: config.base + "/reads/" + config.reads, ...auth });
  if (config.variants) tracks.push({ name: config.variants, type: "variant", format: "vcf",
    sourceType: "htsget", url: config.base + "/variants/" + config.variants, ...auth });
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
    show("loaded", `loaded ${config.locus || ""}: ${reads} reads, ${variants} variants`);
  } catch (e) {
    show("error", "cannot load: " + e);
  }
}
if (typeof igv === "undefined") {
  show("error", "igv.js did not load from {{IGV_JS}}");
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
