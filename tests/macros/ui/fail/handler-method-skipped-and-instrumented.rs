use monitor_core::{monitored_handler, tracks_tokens, Tokens};

struct Api;

#[monitored_handler]
impl Api {
    #[monitor(skip)]
    #[tracks_tokens]
    fn complete(&self) -> Tokens {
        Tokens::new(1, 1)
    }
}

fn main() {
    let _ = Api.complete();
}
