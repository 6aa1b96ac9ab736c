//! An EventBridge bus on moto with a rule that delivers every event of this service
//! (`source: lambda-jwt-auth`) to an SQS queue the test reads: where security events are
//! checked end to end.

use serde_json::Value;

pub struct EventQueue {
    /// The bus's name (`SECURITY_EVENT_BUS`).
    pub bus: String,
    /// moto's endpoint (`AWS_ENDPOINT_URL_EVENTBRIDGE`).
    pub moto: String,
    sqs: aws_sdk_sqs::Client,
    queue: String,
}

impl EventQueue {
    pub async fn start() -> EventQueue {
        let moto =
            std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect("run under with-engines.sh");
        let sdk = shared::aws::sdk_config(Default::default()).await;
        let events = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&sdk)
                .endpoint_url(&moto)
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sdk)
                .endpoint_url(&moto)
                .build(),
        );
        let id = uuid::Uuid::new_v4().simple().to_string();
        let bus = format!("security-{id}");
        events.create_event_bus().name(&bus).send().await.unwrap();
        let queue = sqs
            .create_queue()
            .queue_name(format!("q-{id}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn_attr = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue)
            .attribute_names(arn_attr.clone())
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&arn_attr]
            .clone();
        let rule = format!("all-{id}");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(&bus)
            .event_pattern(r#"{"source":["lambda-jwt-auth"]}"#)
            .send()
            .await
            .unwrap();
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("q")
            .arn(&arn)
            .build()
            .unwrap();
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(&bus)
            .targets(target)
            .send()
            .await
            .unwrap();
        EventQueue {
            bus,
            moto,
            sqs,
            queue,
        }
    }

    /// The events delivered so far, waiting up to ~10 s for at least `at_least` of them.
    pub async fn receive(&self, at_least: usize) -> Vec<Value> {
        let mut received = Vec::new();
        for _ in 0..10 {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for m in got.messages.unwrap_or_default() {
                received.push(serde_json::from_str(m.body.as_deref().unwrap_or("null")).unwrap());
            }
            if received.len() >= at_least {
                break;
            }
        }
        received
    }
}
