use monitor_core::pipeline_stage;

struct Logo;

#[pipeline_stage]
impl Logo {
    fn render(&self) -> u32 {
        1
    }
}

fn main() {
    let _ = Logo.render();
}
