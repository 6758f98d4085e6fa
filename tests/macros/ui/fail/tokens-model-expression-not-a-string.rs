use monitor_core::{Tokens, tracks_tokens};

struct Client {
    model_id: u32,
}

impl Client {
    #[tracks_tokens(model = self.model_id)]
    fn complete(&self) -> Tokens {
        Tokens::default()
    }
}

fn main() {
    let client = Client { model_id: 1 };
    let _ = client.complete();
}
