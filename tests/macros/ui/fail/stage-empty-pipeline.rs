use monitor_core::pipeline_stage;

#[pipeline_stage(pipeline = "")]
fn render() -> u32 {
    1
}

fn main() {
    let _ = render();
}
