//! Who may see and do what, checked where the graph reads or writes customer-private data
//! (not only at the top level), so a nested field (`order { customer { wishlist } }`) or
//! `node(id:)` reaches nothing the caller could not ask for directly.
//!
//! - anonymous: the catalogue (products, prices, stock, stores, basket availability);
//!   nothing about any customer.
//! - customer: their own customer record, orders, wishlist, offers and vouchers; their own
//!   orders, offer conversions, wishlist changes and events.
//! - store associate: acts for any customer, but only in their own store and from a store
//!   channel (the store tablet or the till); composes offers; redeems vouchers.
//! - service: everything.

use super::errors::{self, user_error};
use super::loaders::Scope;
use async_graphql::Result;
use samlet_connector::context::{Caller, Channel};
use samlet_connector::ids::CustomerNumber;

/// The channels a store associate works in.
pub const ASSOCIATE_CHANNELS: &[Channel] = &[Channel::Store, Channel::Pos];

fn unauthenticated() -> async_graphql::Error {
    user_error(
        errors::UNAUTHENTICATED,
        "customer data needs a signed-in caller: send `Authorization: Bearer <token>`",
    )
}

fn forbidden(message: impl Into<String>) -> async_graphql::Error {
    user_error(errors::FORBIDDEN, message)
}

impl Scope {
    /// Who is calling.
    pub fn caller(&self) -> &Caller {
        &self.cx.caller
    }

    /// The store associate acting, if the caller is one.
    pub fn staff_id(&self) -> Option<&str> {
        match &self.cx.caller {
            Caller::StoreAssociate { staff_id, .. } => Some(staff_id),
            _ => None,
        }
    }

    /// A store associate acts only from a store channel (their store is fixed by the server).
    fn associate_here(&self) -> Result<()> {
        if ASSOCIATE_CHANNELS.contains(&self.cx.channel) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "a store associate acts for customers from the store or pos channel, not {}",
                self.cx.channel.as_str()
            )))
        }
    }

    /// May the caller look customers up at all (before knowing who matches)?
    pub fn may_look_up_customers(&self) -> Result<()> {
        match &self.cx.caller {
            Caller::Anonymous => Err(unauthenticated()),
            Caller::StoreAssociate { .. } => self.associate_here(),
            Caller::Customer(_) | Caller::Service(_) => Ok(()),
        }
    }

    /// May the caller read or act on the private data of `customer` (`None`: a record no
    /// system has given a customer number)?
    pub fn may_access(&self, customer: Option<&CustomerNumber>) -> Result<()> {
        match &self.cx.caller {
            Caller::Anonymous => Err(unauthenticated()),
            Caller::Customer(me) if Some(me) == customer => Ok(()),
            Caller::Customer(_) => Err(forbidden(
                "a customer may only see and change their own records",
            )),
            Caller::StoreAssociate { .. } => self.associate_here(),
            Caller::Service(_) => Ok(()),
        }
    }

    /// May the caller do what only staff do (compose offers, redeem vouchers at the till)?
    pub fn must_be_staff(&self, what: &str) -> Result<()> {
        match &self.cx.caller {
            Caller::Anonymous => Err(unauthenticated()),
            Caller::Customer(_) => Err(forbidden(format!(
                "only a store associate or a service may {what}"
            ))),
            Caller::StoreAssociate { .. } => self.associate_here(),
            Caller::Service(_) => Ok(()),
        }
    }
}
