//! Entry point of the public status page's own Wasm: starts [`linli_app::public`] only,
//! so residents on phones download the page and the map engine, not the staff faces
//! or Leptos.

fn main() {
    console_error_panic_hook::set_once();
    linli_app::timing::measured("linli: page mounted", linli_app::public::start);
}
