use monitor_core::monitored_handler;

#[monitored_handler]
struct Handler {
    route: String,
}

fn main() {
    let handler = Handler {
        route: String::new(),
    };
    let _ = handler.route;
}
