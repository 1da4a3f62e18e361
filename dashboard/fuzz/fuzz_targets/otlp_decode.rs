//! Fuzzes the OTLP/HTTP decoders (protobuf and JSON, optionally gzip) and the conversion into
//! the store: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((selector, body)) = data.split_first() {
        dashboard::otlp::http::fuzz_one(*selector, body);
    }
});
