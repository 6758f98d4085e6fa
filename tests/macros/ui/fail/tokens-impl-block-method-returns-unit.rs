use monitor_core::tracks_tokens;

struct Client;

#[tracks_tokens(model = "gpt-4o")]
impl Client {
    fn reset(&self) {}
}

fn main() {
    Client.reset();
}
