"""Standard benchmark formats: insightface .bin, CFP, CALFW/CPLFW, IJB-B/C, TinyFace, RFW."""
