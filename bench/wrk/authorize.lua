-- wrk script: POST /v1/authorize with one realistic body (Luhn-valid Visa test card).
wrk.method = "POST"
wrk.path = "/v1/authorize"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"card_number":"4111111111111111","currency":"USD","amount":"2450.00",' ..
           '"merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"}'
