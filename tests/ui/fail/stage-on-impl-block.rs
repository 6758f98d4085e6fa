use monitor_core::pipeline_stage;

struct Job;

#[pipeline_stage(pipeline = "jobs")]
impl Job {
    fn run(&self) -> u32 {
        1
    }
}

fn main() {
    let _ = Job.run();
}
