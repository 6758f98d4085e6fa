use monitor_core::pipeline_stage;

#[pipeline_stage(stage = "render")]
fn render() {}

fn main() {
    render();
}
