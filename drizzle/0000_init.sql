CREATE TABLE "checkout_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"sale_id" bigint,
	"item_id" text NOT NULL,
	"user_id" text NOT NULL,
	"ticket_id" text,
	"outcome" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "items" (
	"sale_id" bigint NOT NULL,
	"item_id" text NOT NULL,
	"name" text NOT NULL,
	"image_url" text NOT NULL,
	"stock" integer NOT NULL,
	"sold" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "items_sale_id_item_id_pk" PRIMARY KEY("sale_id","item_id"),
	CONSTRAINT "items_sold_within_stock" CHECK ("items"."sold" >= 0 AND "items"."sold" <= "items"."stock")
);
--> statement-breakpoint
CREATE TABLE "purchases" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"sale_id" bigint NOT NULL,
	"item_id" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "purchases_ticket_id_unique" UNIQUE("ticket_id")
);
--> statement-breakpoint
CREATE TABLE "sale_users" (
	"sale_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"purchased" integer NOT NULL,
	"user_limit" integer NOT NULL,
	CONSTRAINT "sale_users_sale_id_user_id_pk" PRIMARY KEY("sale_id","user_id"),
	CONSTRAINT "sale_users_within_limit" CHECK ("sale_users"."purchased" >= 0 AND "sale_users"."purchased" <= "sale_users"."user_limit")
);
--> statement-breakpoint
CREATE TABLE "sales" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"slot_key" text NOT NULL,
	"kind" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"user_limit" integer NOT NULL,
	"item_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sales_slot_key_unique" UNIQUE("slot_key"),
	CONSTRAINT "sales_window" CHECK ("sales"."ends_at" > "sales"."starts_at"),
	CONSTRAINT "sales_user_limit" CHECK ("sales"."user_limit" > 0)
);
--> statement-breakpoint
ALTER TABLE "items" ADD CONSTRAINT "items_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_sale_id_item_id_items_sale_id_item_id_fk" FOREIGN KEY ("sale_id","item_id") REFERENCES "public"."items"("sale_id","item_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_users" ADD CONSTRAINT "sale_users_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "checkout_attempts_sale" ON "checkout_attempts" USING btree ("sale_id");--> statement-breakpoint
CREATE INDEX "items_item_id" ON "items" USING btree ("item_id");--> statement-breakpoint
CREATE INDEX "purchases_user_sale" ON "purchases" USING btree ("user_id","sale_id");--> statement-breakpoint
CREATE INDEX "sales_starts_at" ON "sales" USING btree ("starts_at");