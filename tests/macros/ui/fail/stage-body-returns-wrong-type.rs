use monitor_core::pipeline_stage;

#[pipeline_stage(pipeline = "logo")]
fn render(id: u32) -> String {
    if id == 0 {
        return 0;
    }
    format!("{id}")
}

fn main() {
    let _ = render(1);
}
