use monitor_core::pipeline_stage;

#[pipeline_stage(pipeline = "logo", objective = ["logo cost"])]
fn render() {}

fn main() {
    render();
}
