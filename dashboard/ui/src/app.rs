//! The document shell and the app: router, header, keyboard shortcuts, presenter mode.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;

use crate::live::{INITIAL_SNAPSHOT_ID, Live, initial_snapshot, script_json, use_live};
use crate::pages::{
    business::BusinessPage,
    compare::ComparePage,
    drills::{DrillsPage, RunPage},
    logs::LogsPage,
    map::MapPage,
    overview::Overview,
    service::ServicePage,
    trace::TracePage,
    traces::TracesPage,
};
use crate::types::Snapshot;

/// The pages presenter mode cycles through, and how long each stays up.
pub const PRESENTER_PAGES: [&str; 3] = ["/", "/business", "/map"];
pub const PRESENTER_SECONDS: u64 = 15;

/// Keyboard shortcuts, as the help overlay lists them.
pub const SHORTCUTS: [(&str, &str); 11] = [
    ("1", "Overview"),
    ("2", "Business"),
    ("3", "Service map"),
    ("4", "Traces"),
    ("5", "Logs"),
    ("6", "Drills"),
    ("p", "Presenter mode on/off"),
    ("/", "Focus the search or filter box"),
    ("?", "This help"),
    ("Esc", "Close help, leave presenter mode"),
    ("Tab", "Move between tiles, links and rows; Enter opens"),
];

/// The snapshot the shell wrote into the page, handed to `App` on the server (the browser reads
/// it back from the page).
#[derive(Clone)]
struct FirstSnapshot(Snapshot);

/// Page-wide UI state.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub presenter: RwSignal<bool>,
    pub help: RwSignal<bool>,
}

pub fn use_ui() -> Ui {
    expect_context::<Ui>()
}

/// Loads the bundle and hydrates. (Leptos' `HydrationScripts` would ask for `<name>_bg.wasm`
/// unless the server was compiled by cargo-leptos; ours is compiled by plain `cargo build`, and
/// apiary-ui-build, like cargo-leptos, names the file `<name>.wasm`.)
fn hydration_script(pkg: &str) -> String {
    format!(
        "import('/{pkg}/dashboard.js').then(m => m.default({{module_or_path: '/{pkg}/dashboard.wasm'}}).then(() => m.hydrate()));"
    )
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let pkg = options.site_pkg_dir.to_string();
    let first = initial_snapshot();
    let json = script_json(&first);
    provide_context(FirstSnapshot(first));
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="dark light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href="/pkg/dashboard.css" />
                <script type="application/json" id=INITIAL_SNAPSHOT_ID inner_html=json></script>
                <link rel="modulepreload" href=format!("/{pkg}/dashboard.js") />
                <link
                    rel="preload"
                    href=format!("/{pkg}/dashboard.wasm")
                    r#as="fetch"
                    r#type="application/wasm"
                    crossorigin=""
                />
                <script type="module">{hydration_script(&pkg)}</script>
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
    .into_any()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let first = use_context::<FirstSnapshot>()
        .map(|f| f.0)
        .unwrap_or_else(initial_snapshot);
    let live = Live::new(first);
    provide_context(live);
    let ui = Ui {
        presenter: RwSignal::new(false),
        help: RwSignal::new(false),
    };
    provide_context(ui);
    // Effects run only in the browser: the event stream opens once the page is hydrated.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        crate::live::connect(live);
    });
    view! {
        <Title text="Apiary" />
        <Router>
            <div class="app" class:presenter=move || ui.presenter.get()>
                <a class="skip" href="#main">
                    "Skip to content"
                </a>
                <Header />
                <Shortcuts />
                <main id="main" tabindex="-1">
                    <Routes fallback=|| view! { <NotFound /> }>
                        <Route path=path!("/") view=Overview />
                        <Route path=path!("/services/:name") view=ServicePage />
                        <Route path=path!("/business") view=BusinessPage />
                        <Route path=path!("/traces") view=TracesPage />
                        <Route path=path!("/traces/compare") view=ComparePage />
                        <Route path=path!("/traces/:id") view=TracePage />
                        <Route path=path!("/logs") view=LogsPage />
                        <Route path=path!("/map") view=MapPage />
                        <Route path=path!("/drills") view=DrillsPage />
                        <Route path=path!("/drills/runs/:id") view=RunPage />
                    </Routes>
                </main>
                <Help />
            </div>
        </Router>
    }
    .into_any()
}

#[component]
fn Header() -> impl IntoView {
    let live = use_live();
    let ui = use_ui();
    view! {
        <header class="top">
            <a class="brand" href="/">
                <span class="logo" aria-hidden="true">"⬢"</span>
                " Apiary"
            </a>
            <nav aria-label="Pages">
                <A href="/" exact=true>
                    "Overview"
                </A>
                <A href="/business">"Business"</A>
                <A href="/map">"Service map"</A>
                <A href="/traces">"Traces"</A>
                <A href="/logs">"Logs"</A>
                <A href="/drills">"Drills"</A>
            </nav>
            <span class="spacer"></span>
            <span class="conn" class:on=move || live.connected.get() role="status">
                <span aria-hidden="true">
                    {move || if live.connected.get() { "● " } else { "○ " }}
                </span>
                {move || if live.connected.get() { "live" } else { "connecting" }}
            </span>
            <span
                id="trust"
                class="trust"
                class:warn=move || live.snapshot.with(|s| crate::components::status::trust(s).1)
                title=move || live.snapshot.with(|s| crate::components::status::trust(s).2)
            >
                {move || live.snapshot.with(|s| crate::components::status::trust(s).0)}
            </span>
            <button
                id="presenter-toggle"
                class="presenter-toggle"
                aria-pressed=move || ui.presenter.get().to_string()
                title="Presenter mode (p)"
                on:click=move |_| ui.presenter.update(|p| *p = !*p)
            >
                "Presenter"
            </button>
            <button
                class="help-toggle"
                title="Keyboard shortcuts (?)"
                aria-label="Keyboard shortcuts"
                on:click=move |_| ui.help.update(|h| *h = !*h)
            >
                "?"
            </button>
        </header>
    }
    .into_any()
}

/// The next page presenter mode shows after `current`.
pub fn next_presenter_page(current: &str) -> &'static str {
    let at = PRESENTER_PAGES.iter().position(|p| *p == current);
    match at {
        Some(i) => PRESENTER_PAGES[(i + 1) % PRESENTER_PAGES.len()],
        None => PRESENTER_PAGES[0],
    }
}

/// What a key does (when focus is not in a text field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Go(&'static str),
    TogglePresenter,
    FocusSearch,
    ToggleHelp,
    Escape,
}

pub fn key_action(key: &str) -> Option<KeyAction> {
    Some(match key {
        "1" => KeyAction::Go("/"),
        "2" => KeyAction::Go("/business"),
        "3" => KeyAction::Go("/map"),
        "4" => KeyAction::Go("/traces"),
        "5" => KeyAction::Go("/logs"),
        "6" => KeyAction::Go("/drills"),
        "p" | "P" => KeyAction::TogglePresenter,
        "/" => KeyAction::FocusSearch,
        "?" => KeyAction::ToggleHelp,
        "Escape" => KeyAction::Escape,
        _ => return None,
    })
}

/// Global keyboard shortcuts and presenter mode's page cycling (inside the router, which they
/// navigate).
#[component]
fn Shortcuts() -> impl IntoView {
    let ui = use_ui();
    let navigate = use_navigate();
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let go = navigate.clone();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let in_field = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                });
            let key = ev.key();
            if in_field && key != "Escape" {
                return;
            }
            let Some(action) = key_action(&key) else {
                return;
            };
            ev.prevent_default();
            match action {
                KeyAction::Go(path) => go(path, Default::default()),
                KeyAction::TogglePresenter => ui.presenter.update(|p| *p = !*p),
                KeyAction::ToggleHelp => ui.help.update(|h| *h = !*h),
                KeyAction::FocusSearch => {
                    if let Some(el) = document()
                        .get_element_by_id("search")
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = el.focus();
                    }
                }
                KeyAction::Escape => {
                    ui.help.set(false);
                    ui.presenter.set(false);
                    if in_field
                        && let Some(el) = document()
                            .active_element()
                            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = el.blur();
                    }
                }
            }
        });
        on_cleanup(move || handle.remove());

        // Presenter mode: start on the overview, then move on every PRESENTER_SECONDS.
        let cycle = navigate.clone();
        let timer: StoredValue<Option<IntervalHandle>> = StoredValue::new(None);
        Effect::new(move |_| {
            let on = ui.presenter.get();
            if let Some(t) = timer.get_value() {
                t.clear();
                timer.set_value(None);
            }
            if on {
                let step = cycle.clone();
                let handle = set_interval_with_handle(
                    move || {
                        let here = window().location().pathname().unwrap_or_default();
                        step(next_presenter_page(&here), Default::default());
                    },
                    std::time::Duration::from_secs(PRESENTER_SECONDS),
                );
                timer.set_value(handle.ok());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ui, navigate);
}

#[component]
fn Help() -> impl IntoView {
    let ui = use_ui();
    view! {
        <div
            class="help"
            role="dialog"
            aria-label="Keyboard shortcuts"
            style:display=move || if ui.help.get() { "block" } else { "none" }
        >
            <h2>"Keyboard shortcuts"</h2>
            <dl>
                {SHORTCUTS
                    .iter()
                    .map(|(k, what)| {
                        view! {
                            <div>
                                <dt>
                                    <kbd>{*k}</kbd>
                                </dt>
                                <dd>{*what}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
            <button on:click=move |_| ui.help.set(false)>"Close"</button>
        </div>
    }
    .into_any()
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Apiary" />
        <div class="empty">
            <p class="empty-title">"No such page."</p>
            <p class="empty-hint">
                <a href="/">"Back to the overview"</a>
            </p>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presenter_mode_cycles_overview_business_map() {
        assert_eq!(next_presenter_page("/"), "/business");
        assert_eq!(next_presenter_page("/business"), "/map");
        assert_eq!(next_presenter_page("/map"), "/");
        assert_eq!(next_presenter_page("/traces/abc"), "/");
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(key_action("p"), Some(KeyAction::TogglePresenter));
        assert_eq!(key_action("3"), Some(KeyAction::Go("/map")));
        assert_eq!(key_action("x"), None);
    }
}
