#![deny(warnings)]

use monitor_core::pipeline_stage;
use std::fmt::Display;

struct Renderer<T, const N: usize> {
    items: [T; N],
}

/// Generic over types and consts, with a where-clause and lifetimes in a method: one site per
/// method, whatever the type arguments; its type name has no generics.
#[pipeline_stage(pipeline = "generic")]
impl<T, const N: usize> Renderer<T, N>
where
    T: Display,
{
    fn join(&self, separator: &str) -> String {
        self.items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(separator)
    }

    fn first<'a>(&'a self, fallback: &'a T) -> &'a T {
        self.items.first().unwrap_or(fallback)
    }

    fn convert<U: From<u8>>(&self, x: u8) -> U {
        U::from(x)
    }
}

/// The `Self` type through a reference: still its name.
trait Len {
    fn length(self) -> usize;
}

#[pipeline_stage(pipeline = "generic")]
impl Len for &Renderer<u8, 2> {
    fn length(self) -> usize {
        self.items.len()
    }
}

fn main() {
    assert_eq!(Renderer { items: [1, 2, 3] }.join("-"), "1-2-3");
    assert_eq!(Renderer { items: ['a', 'b'] }.join(""), "ab");
    assert_eq!(*Renderer { items: [7] }.first(&0), 7);
    let x: u64 = Renderer { items: [1] }.convert(4);
    assert_eq!(x, 4);
    assert_eq!((&Renderer { items: [1u8, 2] }).length(), 2);

    let site = |stage: &str| {
        monitor_core::sites()
            .find(|s| s.pipeline() == Some("generic") && s.stage() == Some(stage))
            .unwrap()
    };
    assert_eq!(site("join").qualified_name(), "Renderer::join");
    assert_eq!(site("join").stats().calls(), 2);
    assert_eq!(site("first").stats().calls(), 1);
    assert_eq!(site("convert").stats().calls(), 1);
    assert_eq!(site("length").type_name(), Some("Renderer"));
    assert_eq!(site("length").stats().calls(), 1);
}
