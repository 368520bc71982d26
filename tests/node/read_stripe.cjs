// Reads an invoice, its invoice payments, its subscription and PaymentIntent from the fake
// Stripe with the official Node SDK (base address changed only), and prints what it saw as
// JSON for tests/integration/test_stripe_versions_node.py to judge.
const mod = require(process.env.STRIPE_MODULE);
const Stripe = mod.default || mod.Stripe || mod;
const url = new URL(process.env.STRIPE_BASE);
const stripe = new Stripe(process.env.STRIPE_KEY, {
  host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', ''),
  maxNetworkRetries: 0,
});

async function main() {
  const invoice = await stripe.invoices.retrieve(process.env.INVOICE);
  const payments = await stripe.invoicePayments.list({ invoice: invoice.id });
  const subscription = await stripe.subscriptions.retrieve(process.env.SUBSCRIPTION);
  const intentId = payments.data[0].payment.payment_intent;
  const intent = await stripe.paymentIntents.retrieve(intentId);
  const expanded = await stripe.invoices.retrieve(invoice.id, {
    expand: ['payments.data.payment.payment_intent'] });
  console.log(JSON.stringify({
    pinned: Stripe.API_VERSION || null,
    sent: invoice.lastResponse.headers['stripe-version'] || null,
    invoice: { id: invoice.id, status: invoice.status, parent: invoice.parent,
               keys: Object.keys(invoice) },
    payments: payments.data.map((p) => ({ id: p.id, status: p.status, invoice: p.invoice,
                                          payment: p.payment, is_default: p.is_default })),
    subscription: { keys: Object.keys(subscription),
                    items: subscription.items.data.map((i) => ({
                      id: i.id, current_period_start: i.current_period_start,
                      current_period_end: i.current_period_end })) },
    intent: { id: intent.id, status: intent.status, keys: Object.keys(intent) },
    expanded: expanded.payments.data.map((p) => p.payment.payment_intent.id),
  }));
}

main().catch((error) => { console.error(error); process.exit(1); });
