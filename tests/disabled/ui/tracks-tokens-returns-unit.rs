use monitor_core::tracks_tokens;

#[tracks_tokens(model = "m")]
fn complete() {}

fn main() {
    complete();
}
