//! The fake Hub serves the crawl's `hf://` downloads as the raw-socket double it replaced did.
//! One test per process: it sets `HF_ENDPOINT`.

use dasynth_sources::fetch::hf::{Dataset, fetch};
use dasynth_sources::fetch::http::{HttpOptions, client};
use dasynth_testkit::hub::{FakeHub, Step};
use std::time::Duration;

#[test]
fn hf_hub_lists_and_downloads_from_the_fake_hub() {
    let hub = FakeHub::start();
    let csv = b"a,b\n1,2\n".to_vec();
    hub.dataset("org/people", &[("data/people.csv", csv.clone()), ("README.md", b"# card".to_vec())]);
    // SAFETY: this test binary runs this one test; no other thread reads the environment yet.
    unsafe {
        std::env::set_var("HF_ENDPOINT", hub.url());
        std::env::set_var("HF_HUB_DISABLE_XET", "1");
        std::env::remove_var("HF_TOKEN");
    }
    let cache = tempfile::tempdir().unwrap();
    let opts = HttpOptions { timeout: Duration::from_secs(10), retries: 0, max_bytes: 1 << 20, allow_private_redirects: false };
    let http = client(&opts).unwrap();
    let ds = |name| Dataset { owner: "org", name, revision: None };
    let got = fetch(&http, &ds("people"), &[], &[], cache.path(), &opts);
    assert!(got.failures.is_empty(), "{:?}", got.failures);
    assert_eq!(got.inputs.len(), 1);
    assert_eq!(std::fs::read(&got.inputs[0].local).unwrap(), csv);
    // A second fetch downloads nothing.
    let hits = hub.hits(Step::Resolve);
    let again = fetch(&http, &ds("people"), &[], &[], cache.path(), &opts);
    assert_eq!(again.inputs.len(), 1);
    assert_eq!(hub.hits(Step::Resolve), hits);
    let missing = fetch(&http, &ds("missing"), &[], &[], cache.path(), &opts);
    assert!(!missing.failures.is_empty());
}
