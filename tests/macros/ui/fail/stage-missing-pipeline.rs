use monitor_core::pipeline_stage;

#[pipeline_stage(stage = "render")]
fn render() -> u32 {
    1
}

fn main() {
    let _ = render();
}
