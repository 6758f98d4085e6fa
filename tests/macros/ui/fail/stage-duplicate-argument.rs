use monitor_core::pipeline_stage;

#[pipeline_stage(pipeline = "logo", stage = "a", stage = "b")]
fn render() -> u32 {
    1
}

fn main() {
    let _ = render();
}
