#![deny(warnings)]

use monitor_core::site::SiteKind;
use monitor_core::{monitored_handler, pipeline_stage};

struct LogoPipeline {
    calls: u32,
}

/// A pipeline whose stages are its methods: one attribute, each method's stage its name.
#[pipeline_stage(pipeline = "logo")]
impl LogoPipeline {
    /// Associated items other than methods pass through as written.
    const SIDES: usize = 6;

    fn analyse(&mut self, prompt: &str) -> Result<usize, String> {
        self.calls += 1;
        if prompt.is_empty() {
            return Err("empty prompt".to_owned());
        }
        Ok(prompt.len())
    }

    pub async fn render(&self, size: usize) -> String {
        tokio::task::yield_now().await;
        format!("<svg sides={} size={size}/>", Self::SIDES)
    }

    /// Its own stage name; the pipeline is the block's.
    #[pipeline_stage(stage = "shrink")]
    fn optimise(svg: String) -> String {
        svg.replace(' ', "")
    }

    #[monitor(skip)]
    fn helper(&self) -> u32 {
        self.calls
    }

    /// A `const fn` stays one: left as written.
    const fn sides() -> usize {
        Self::SIDES
    }
}

struct Other;

/// Two `render`s on two types are two sites, told apart by their type.
#[monitored_handler]
impl Other {
    fn render(&self) -> u32 {
        7
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut pipeline = LogoPipeline { calls: 0 };
    assert_eq!(pipeline.analyse("fox"), Ok(3));
    assert!(pipeline.analyse("").is_err());
    assert_eq!(runtime.block_on(pipeline.render(3)), "<svg sides=6 size=3/>");
    assert_eq!(LogoPipeline::optimise("a b".to_owned()), "ab");
    assert_eq!(pipeline.helper(), 2);
    const SIDES: usize = LogoPipeline::sides();
    assert_eq!(SIDES, 6);
    assert_eq!(Other.render(), 7);

    let stage = |name: &str| {
        monitor_core::sites()
            .find(|s| s.pipeline() == Some("logo") && s.stage() == Some(name))
            .unwrap_or_else(|| panic!("no stage {name}"))
    };
    let analyse = stage("analyse");
    assert_eq!(analyse.kind(), SiteKind::Stage);
    assert_eq!(analyse.type_name(), Some("LogoPipeline"));
    assert_eq!(analyse.qualified_name(), "LogoPipeline::analyse");
    assert_eq!(analyse.name(), "analyse");
    assert_eq!((analyse.stats().calls(), analyse.stats().errors), (2, 1));
    assert_eq!(stage("render").stats().calls(), 1);
    let shrink = stage("shrink");
    assert_eq!(shrink.function(), "optimise");
    assert_eq!(shrink.qualified_name(), "LogoPipeline::optimise");
    assert_eq!(shrink.stats().calls(), 1);
    assert!(monitor_core::sites().all(|s| s.function() != "helper" && s.function() != "sides"));

    let renders: Vec<_> = monitor_core::sites()
        .filter(|s| s.function() == "render")
        .map(|s| (s.qualified_name(), s.kind()))
        .collect();
    assert_eq!(renders.len(), 2, "{renders:?}");
    assert!(renders.contains(&("LogoPipeline::render", SiteKind::Stage)));
    assert!(renders.contains(&("Other::render", SiteKind::Handler)));
    let other = monitor_core::sites()
        .find(|s| s.qualified_name() == "Other::render")
        .unwrap();
    assert_eq!(other.stats().calls(), 1);
    assert_ne!(other.id(), stage("render").id());
}
