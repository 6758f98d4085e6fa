use monitor_core::pipeline_stage;

struct Logo;

#[pipeline_stage(pipeline = "logo")]
impl Logo {
    fn render(&self) -> u32 {
        1
    }

    #[pipeline_stage(pipeline = "badge")]
    fn shrink(&self) -> u32 {
        2
    }
}

fn main() {
    let _ = (Logo.render(), Logo.shrink());
}
