//! Entry point of the Wasm app: mounts [`linli_app::App`] on the page body.

fn main() {
    console_error_panic_hook::set_once();
    linli_app::timing::measured("linli: page mounted", || {
        leptos::mount::mount_to_body(linli_app::App)
    });
}
