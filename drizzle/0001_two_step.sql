ALTER TABLE "sales" ADD COLUMN "checkout_mode" text DEFAULT 'direct' NOT NULL;--> statement-breakpoint
ALTER TABLE "sales" ADD COLUMN "hold_s" integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE "sales" ADD CONSTRAINT "sales_checkout_mode" CHECK ("sales"."checkout_mode" in ('direct', 'two_step'));--> statement-breakpoint
ALTER TABLE "sales" ADD CONSTRAINT "sales_hold_s" CHECK ("sales"."hold_s" > 0);