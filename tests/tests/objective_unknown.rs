//! A site whose attribute names an objective that is not declared: a typed error at `apply`
//! (and so at `init`), naming the site and the objective — whether other objectives are declared
//! or none is.

use monitor_core::objectives::{Objective, ObjectiveError};
use monitor_core::{Config, ConfigError, monitored_handler};

#[monitored_handler(objective = "checkout")]
fn pay() {}

#[test]
fn an_objective_no_one_declared_is_an_error_naming_the_site_and_the_objective() {
    pay();
    let site = monitor_core::sites().find(|s| s.name() == "pay").unwrap();
    assert_eq!(site.objective_names(), ["checkout"]);
    for config in [
        Config::new(),
        Config::new().objectives([Objective::success_rate("cart", 0.99)]),
    ] {
        let Err(ConfigError::Objective(ObjectiveError::Unknown {
            site: id,
            objective,
        })) = config.apply()
        else {
            panic!("an undeclared objective was let through");
        };
        assert_eq!(
            (id.as_str(), objective.as_str()),
            (site.id().as_str(), "checkout")
        );
    }
    let error = Config::new().apply().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "objectives: site {} names objective `checkout`, which is not declared",
            site.id()
        )
    );
    // Declared, it is in force and covers the site.
    Config::new()
        .objectives([Objective::success_rate("checkout", 0.99)])
        .apply()
        .unwrap();
    let status = monitor_core::objectives::status();
    assert_eq!(status[0].sites.len(), 1);
}
