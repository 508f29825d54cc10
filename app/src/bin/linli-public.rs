//! Entry point of the public status page's own Wasm: mounts only
//! [`linli_app::PublicPage`], so residents on phones download the page and the map
//! engine, not the staff faces.

fn main() {
    console_error_panic_hook::set_once();
    linli_app::timing::measured("linli: page mounted", || {
        leptos::mount::mount_to_body(linli_app::PublicPage)
    });
}
