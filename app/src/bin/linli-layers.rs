//! Entry point of the layer worker's own Wasm (a Web Worker, not a page): decodes and
//! projects the large layers the pages hand it ([`linli_app::layer_worker`]).

fn main() {
    console_error_panic_hook::set_once();
    linli_app::layer_worker::serve();
}
