//! The standard `OTEL_*` variables, mapped onto Bia's keys.
//!
//! The OTLP exporter builders let code override the environment, so the framework layers these
//! itself, above the config file, as users of other OpenTelemetry SDKs expect.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// A figment provider over the OpenTelemetry environment variables Bia honours.
pub(crate) struct OtelEnv {
    vars: Vec<(&'static str, String)>,
}

const VARS: [&str; 4] = [
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
];

impl OtelEnv {
    pub(crate) fn from_process() -> Self {
        Self::from_vars(
            VARS.iter()
                .filter_map(|name| std::env::var(name).ok().map(|v| (*name, v))),
        )
    }

    fn from_vars(vars: impl IntoIterator<Item = (&'static str, String)>) -> Self {
        Self {
            vars: vars.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The sampler ratio the OTEL_TRACES_SAMPLER(_ARG) pair asks for, if any.
    #[allow(clippy::result_large_err)] // figment's own error type, returned as figment expects
    fn sampler_ratio(&self) -> Result<Option<f64>, Error> {
        let Some(sampler) = self.get("OTEL_TRACES_SAMPLER") else {
            return Ok(None);
        };
        match sampler {
            "always_on" | "parentbased_always_on" => Ok(Some(1.0)),
            "always_off" | "parentbased_always_off" => Ok(Some(0.0)),
            "traceidratio" | "parentbased_traceidratio" => {
                let arg = self.get("OTEL_TRACES_SAMPLER_ARG").unwrap_or("1.0");
                arg.trim().parse::<f64>().map(Some).map_err(|_| {
                    Error::from(format!(
                        "OTEL_TRACES_SAMPLER_ARG = {arg:?} is not a number between 0.0 and 1.0"
                    ))
                })
            }
            other => Err(Error::from(format!(
                "OTEL_TRACES_SAMPLER = {other:?} is not supported: use always_on, always_off, \
                 traceidratio or their parentbased_ forms"
            ))),
        }
    }
}

impl Provider for OtelEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("OTEL_* environment variable")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut root = Dict::new();
        if let Some(name) = self.get("OTEL_SERVICE_NAME") {
            let mut app = Dict::new();
            app.insert("name".into(), Value::from(name.to_owned()));
            root.insert("app".into(), Value::from(app));
        }
        let mut telemetry = Dict::new();
        if let Some(endpoint) = self.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let mut otlp = Dict::new();
            otlp.insert("endpoint".into(), Value::from(endpoint.to_owned()));
            telemetry.insert("otlp".into(), Value::from(otlp));
        }
        if let Some(ratio) = self.sampler_ratio()? {
            telemetry.insert("sampler_ratio".into(), Value::from(ratio));
        }
        if !telemetry.is_empty() {
            root.insert("telemetry".into(), Value::from(telemetry));
        }
        Ok(Profile::Default.collect(root))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    fn ratio(vars: &[(&'static str, &str)]) -> Result<Option<f64>, Error> {
        OtelEnv::from_vars(vars.iter().map(|(k, v)| (*k, (*v).to_owned()))).sampler_ratio()
    }

    #[test]
    fn sampler_variables_map_to_a_ratio() {
        assert_eq!(ratio(&[]).unwrap(), None);
        assert_eq!(
            ratio(&[("OTEL_TRACES_SAMPLER", "always_off")]).unwrap(),
            Some(0.0)
        );
        assert_eq!(
            ratio(&[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25")
            ])
            .unwrap(),
            Some(0.25)
        );
        let err = ratio(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]).unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }
}
