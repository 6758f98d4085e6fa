use monitor_core::pipeline_stage;

#[pipeline_stage(pipeline = "logo", cache = "renders")]
#[track_caller]
fn render() -> Option<String> {
    None
}

fn main() {
    render();
}
